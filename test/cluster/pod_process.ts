/**
 * One kwok pod's real process (see pod_processes.ts): its directory, its ServiceAccount volume
 * (a bound token, refreshed as the kubelet does, `ca.crt`, `namespace`; or a Secret volume the
 * pod mounts there, synced as the kubelet does: pod_secret_volume.ts), its environment, the
 * process itself (restarted with back-off when it exits) and its record `process.json`.
 * Everything a PodProcess does happens in order, one operation at a time.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { type AdminApi, ApiStatusError } from "./pod_api.ts";
import {
  CA_FILE_OVERRIDE_ANNOTATION,
  type Pod,
  type PodProgram,
  programArgv,
  programOf,
} from "./pod_programs.ts";
import {
  readSecretVolume,
  type SecretVolume,
  secretVolumeAt,
  syncDelayMs,
  syncFrequencyMs,
} from "./pod_secret_volume.ts";
import { writeVolume } from "./pod_volume.ts";
import { ManagedProcess } from "./managed_process.ts";
import { writeJsonAtomic } from "./state.ts";

/** Where the kubelet mounts a pod's ServiceAccount volume (rest.InClusterConfig reads it there). */
export const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The files of one pod, under `<stateDir>/pods/<namespace>_<name>/`. */
export interface PodPaths {
  /** The pod's directory (the process's working directory). */
  dir: string;
  /** `<dir>/var/run/secrets/kubernetes.io/serviceaccount`: token, ca.crt, namespace. */
  serviceAccountDir: string;
  /** `<dir>/status.json`, the program's own status ($STATUS_FILE). */
  statusFile: string;
  /** `<dir>/process.log`, the program's stdout and stderr. */
  logFile: string;
  /** `<dir>/process.json`, the mechanism's record of the process ({@linkcode PodProcessRecord}). */
  recordFile: string;
  /**
   * `<pods dir>/../pods-ended/<ns>_<pod>`: where a deleted pod's status.json and process.log are
   * kept, so a test can still count the failures of a pod a roll replaced.
   */
  endedDir: string;
}

/** The files of the pod `namespace/name` of the cluster whose pods directory is `podsDir`. */
export function podPaths(podsDir: string, namespace: string, name: string): PodPaths {
  const dir = join(podsDir, `${namespace}_${name}`);
  return {
    dir,
    serviceAccountDir: join(dir, SERVICE_ACCOUNT_PATH),
    statusFile: join(dir, "status.json"),
    logFile: join(dir, "process.log"),
    recordFile: join(dir, "process.json"),
    endedDir: join(dirname(podsDir), "pods-ended", `${namespace}_${name}`),
  };
}

/** Whether the pod's process should run: scheduled, Running, not being deleted. */
export function shouldRun(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && !!pod.spec.nodeName && pod.status?.phase === "Running";
}

/**
 * The pod's projected ServiceAccount token source (what the ServiceAccount admission plugin
 * adds as the kube-api-access volume unless automounting is off), or `undefined`.
 */
export function serviceAccountTokenSource(
  pod: Pod,
): { path: string; expirationSeconds?: number; audience?: string } | undefined {
  for (const volume of pod.spec.volumes ?? []) {
    for (const source of volume.projected?.sources ?? []) {
      if (source.serviceAccountToken) return source.serviceAccountToken;
    }
  }
  return undefined;
}

/**
 * When the kubelet's token manager refreshes a token: once less than 20 % of the requested
 * lifetime is left, or once it is 24 h old (k8s.io/kubernetes/pkg/kubelet/token).
 */
export function tokenRefreshAt(expiresAt: Date, requestedSeconds: number): Date {
  const exp = expiresAt.getTime();
  const issued = exp - requestedSeconds * 1000;
  return new Date(Math.min(exp - requestedSeconds * 200, issued + 24 * 3600_000));
}

/**
 * The environment of a pod's process: the `kubernetes` Service's variables pointing at the
 * cluster's load balancer, the pod's name and namespace (as a downward-API env would give
 * them), HOSTNAME, a container's default PATH, the literal `env` of the pod's first container,
 * and the variables that stand for fixed in-container paths: SERVICEACCOUNT_DIR, STATUS_FILE.
 */
export function podEnv(
  pod: Pod,
  endpoint: { ip: string; port: number },
  paths: PodPaths,
): Record<string, string> {
  const { ip, port } = endpoint;
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOSTNAME: pod.metadata.name,
    HOME: "/root",
    KUBERNETES_SERVICE_HOST: ip,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: `tcp://${ip}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP`]: `tcp://${ip}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: "tcp",
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: String(port),
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: ip,
  };
  for (const e of pod.spec.containers[0]?.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
  }
  return {
    ...env,
    POD_NAME: pod.metadata.name,
    POD_NAMESPACE: pod.metadata.namespace ?? "default",
    SERVICEACCOUNT_DIR: paths.serviceAccountDir,
    STATUS_FILE: paths.statusFile,
  };
}

/** State of a pod's process. */
export type PodProcessState =
  | "waiting" // not Running yet, or its volume cannot be made yet (retried)
  | "running"
  | "backoff" // exited; restarted after a delay
  | "stopped"
  | "failed"; // names no known program

/** `<podDir>/process.json`: the mechanism's record of one pod's process. */
export interface PodProcessRecord {
  namespace: string;
  pod: string;
  uid: string;
  /** Value of the process label. */
  program: string;
  /** The command line (without the environment). */
  argv?: string[];
  serviceAccount: string;
  node?: string;
  state: PodProcessState;
  /** Why it is waiting or failed. */
  reason?: string;
  pid?: number;
  startedAt?: string;
  restarts: number;
  lastExit?: { code: number; signal: string | null; at: string };
  /** The projected token (absent when the pod mounts no ServiceAccount token). */
  token?: {
    requests: number;
    failures: number;
    expirationSeconds: number;
    expiresAt?: string;
    refreshAt?: string;
    lastError?: string;
  };
  /** Where `ca.crt` comes from, and how often it was (re)written. */
  ca?: { source: "configmap" | "override"; writes: number; updatedAt?: string };
  /** The Secret volume at the ServiceAccount path (absent when the pod mounts none). */
  secret?: {
    /** The Secret's name. */
    name: string;
    /** The sync frequency, before jitter. */
    syncFrequencySeconds: number;
    /** Syncs (reads of the Secret), failed ones included. */
    syncs: number;
    /** Syncs that changed the files. */
    writes: number;
    /** When the files last changed. */
    updatedAt?: string;
    /** Why the last sync failed (the files were kept). */
    lastError?: string;
  };
  paths: PodPaths;
}

/** What a {@linkcode PodProcess} needs from its controller. */
export interface PodProcessOptions {
  /** The API, as the admin. */
  api: AdminApi;
  /** Directory of the binaries. */
  binDir: string;
  /** `<stateDir>/pods`. */
  podsDir: string;
  /** The `kubernetes` Service's address: the cluster's load balancer. */
  endpoint: { ip: string; port: number };
  /**
   * Lifetime requested for tokens. The kubelet requests the projected source's (3607 s, which
   * the API server extends to a year); the mechanism requests this.
   */
  tokenExpirationSeconds: number;
  /**
   * The kubelet's `--sync-frequency`: how often a Secret volume is synced (stretched by 0–50 %),
   * unless the pod's sync-frequency annotation says otherwise.
   */
  syncFrequencyMs: number;
  /** The namespace's kube-root-ca.crt `ca.crt` as last seen by the controller's watch. */
  rootCaOf: (namespace: string) => string | undefined;
  /** Log line sink. */
  log: (line: string) => void;
  /** Called when a process starts or ends. */
  onChange: () => void;
}

/** Back-off before the n-th restart (n ≥ 1): 1, 2, 4 … 30 s. */
export function restartDelayMs(restarts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, Math.min(restarts - 1, 5)), 30_000);
}

/** The real process of one kwok pod. */
export class PodProcess {
  /** The pod's uid. */
  readonly uid: string;
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name. */
  readonly name: string;
  /** The pod's files. */
  readonly paths: PodPaths;
  #o: PodProcessOptions;
  #pod: Pod;
  #ops: Promise<void>;
  #proc?: ManagedProcess;
  #ended = false;
  #removed = false;
  #volumeWritten = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #token?: { token: string; expiresAt: Date };
  #refreshTimer?: ReturnType<typeof setTimeout>;
  #secretMounted = false;
  #secretTimer?: ReturnType<typeof setTimeout>;
  #ca?: { data: string; source: "configmap" | "override" };
  #caWritten?: string;
  #record: PodProcessRecord;
  #recordWrites = Promise.resolve();

  /** Follows `pod`; nothing starts before `after` (the stop of a namesake) has settled. */
  constructor(pod: Pod, options: PodProcessOptions, after: Promise<void> = Promise.resolve()) {
    this.#o = options;
    this.#pod = pod;
    this.uid = pod.metadata.uid ?? "";
    this.namespace = pod.metadata.namespace ?? "default";
    this.name = pod.metadata.name;
    this.paths = podPaths(options.podsDir, this.namespace, this.name);
    this.#ops = after.catch(() => {});
    this.#record = {
      namespace: this.namespace,
      pod: this.name,
      uid: this.uid,
      program: programOf(pod)?.name ?? "",
      serviceAccount: pod.spec.serviceAccountName ?? "default",
      state: "waiting",
      restarts: 0,
      paths: this.paths,
    };
  }

  /** Pid of the running process. */
  get pid(): number | undefined {
    return this.#proc && !this.#proc.done ? this.#proc.pid : undefined;
  }

  /** The record as it stands. */
  get record(): PodProcessRecord {
    return structuredClone(this.#record);
  }

  /** The pod changed (or was listed again): start or stop the process accordingly. */
  update(pod: Pod): void {
    this.#pod = pod;
    this.#enqueue(() => this.#sync());
  }

  /**
   * The namespace's kube-root-ca.crt now holds `data`: `ca.crt` is rewritten (unless
   * overridden); every change is written in the order seen, none skipped.
   */
  rootCaChanged(data: string): void {
    this.#enqueue(() => this.#syncCa(data));
  }

  /**
   * Stops the process for good (SIGTERM, SIGKILL after `graceMs`, by default the pod's
   * termination grace period up to 10 s); with `removeDir` (the pod is gone) its directory
   * goes too, as the kubelet removes a deleted pod's volumes.
   */
  stop(removeDir: boolean, graceMs: number = this.#graceMs()): Promise<void> {
    this.#ended = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    return this.#enqueue(() => this.#stop(removeDir, graceMs));
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    this.#ops = this.#ops.then(op).catch((error) =>
      this.#o.log(`[pods] ${this.namespace}/${this.name}: ${(error as Error).message}`)
    );
    return this.#ops;
  }

  #later(ms: number, op: () => Promise<void>): ReturnType<typeof setTimeout> | undefined {
    if (this.#ended) return undefined;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#ended) this.#enqueue(op);
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  async #sync(): Promise<void> {
    if (this.#ended) return;
    const pod = this.#pod;
    this.#record.node = pod.spec.nodeName;
    if (!shouldRun(pod)) {
      if (this.pid !== undefined) {
        this.#o.log(`[pods] ${this.namespace}/${this.name}: no longer Running; stopping`);
        await this.#stopProcess(this.#graceMs());
        this.#o.onChange();
      }
      this.#setState("waiting", `pod phase ${pod.status?.phase ?? "unknown"}`);
      return;
    }
    if (this.pid !== undefined || this.#record.state === "backoff") return;
    await this.#start();
  }

  #graceMs(): number {
    return Math.min(this.#pod.spec.terminationGracePeriodSeconds ?? 30, 10) * 1000;
  }

  async #start(): Promise<void> {
    const found = programOf(this.#pod);
    if (!found?.program) {
      if (this.#record.state !== "failed") {
        this.#o.log(`[pods] ${this.namespace}/${this.name}: unknown program "${found?.name}"`);
      }
      this.#setState("failed", `unknown program "${found?.name}"`);
      return;
    }
    try {
      await Deno.mkdir(this.paths.dir, { recursive: true });
      const secret = secretVolumeAt(this.#pod, SERVICE_ACCOUNT_PATH);
      if (secret) {
        // Mounted once; from then on synced every sync period, failures keeping the files.
        if (!this.#secretMounted) await this.#syncSecret(secret);
        this.#secretMounted = true;
        this.#scheduleSecretSync();
      } else if (serviceAccountTokenSource(this.#pod)) {
        this.#ca = await this.#resolveCa();
        if (!this.#token || Date.now() >= this.#refreshAt().getTime()) await this.#requestToken();
        await this.#writeVolume();
      }
    } catch (error) {
      const message = (error as Error).message;
      if (this.#record.reason !== message) {
        this.#o.log(`[pods] ${this.namespace}/${this.name}: waiting: ${message}`);
      }
      this.#setState("waiting", message);
      this.#later(2_000, () => this.#sync());
      return;
    }
    this.#spawn(found.program);
  }

  #spawn(program: PodProgram): void {
    const env = podEnv(this.#pod, this.#o.endpoint, this.paths);
    const argv = programArgv(program, this.#o.binDir, this.#pod);
    // `env -i` so that the process sees only its pod's environment, not the supervisor's.
    const proc = ManagedProcess.spawn({
      argv: ["/usr/bin/env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv],
      logFile: this.paths.logFile,
      cwd: this.paths.dir,
    });
    if (this.#record.startedAt) this.#record.restarts++;
    this.#proc = proc;
    this.#record.argv = argv;
    this.#record.startedAt = new Date().toISOString();
    this.#setState("running");
    this.#o.log(`[pods] ${this.namespace}/${this.name}: started ${argv[0]} (pid ${proc.pid})`);
    this.#o.onChange();
    proc.exited.then((status) => {
      if (this.#proc !== proc) return;
      this.#record.lastExit = {
        code: status.code,
        signal: status.signal,
        at: new Date().toISOString(),
      };
      if (this.#ended || this.#record.state !== "running") return;
      const delay = restartDelayMs(this.#record.restarts + 1);
      this.#o.log(
        `[pods] ${this.namespace}/${this.name}: pid ${proc.pid} exited with code ${status.code}; restarting in ${
          delay / 1000
        }s`,
      );
      this.#setState("backoff", `exited with code ${status.code}`);
      this.#o.onChange();
      this.#later(delay, async () => {
        this.#setState("waiting", "restarting");
        await this.#sync();
      });
    });
  }

  async #stopProcess(graceMs: number): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.done) return;
    this.#setState("stopped", "stopping");
    await proc.stop(graceMs);
  }

  async #stop(removeDir: boolean, graceMs: number): Promise<void> {
    const hadProcess = this.pid !== undefined;
    await this.#stopProcess(graceMs);
    if (hadProcess) {
      this.#o.log(`[pods] ${this.namespace}/${this.name}: stopped pid ${this.#record.pid}`);
    }
    this.#setState("stopped", removeDir ? "pod deleted" : "supervisor stopping");
    if (removeDir) {
      this.#removed = true;
      await this.#recordWrites;
      await keepEnded(this.paths);
      await Deno.remove(this.paths.dir, { recursive: true }).catch(() => {});
    } else {
      await this.#recordWrites;
    }
    if (hadProcess) this.#o.onChange();
  }

  async #resolveCa(): Promise<{ data: string; source: "configmap" | "override" }> {
    const override = this.#pod.metadata.annotations?.[CA_FILE_OVERRIDE_ANNOTATION];
    if (override !== undefined) return { data: override, source: "override" };
    let data = this.#o.rootCaOf(this.namespace);
    if (data === undefined) {
      try {
        const cm = await this.#o.api.request<{ data?: Record<string, string> }>(
          "GET",
          `/api/v1/namespaces/${this.namespace}/configmaps/kube-root-ca.crt`,
        );
        data = cm.data?.["ca.crt"];
      } catch (error) {
        if (error instanceof ApiStatusError && error.status === 404) {
          throw new Error(`configmap "kube-root-ca.crt" not found in ${this.namespace}`);
        }
        throw error;
      }
    }
    if (!data) throw new Error(`configmap "kube-root-ca.crt" in ${this.namespace} has no ca.crt`);
    return { data, source: "configmap" };
  }

  #refreshAt(): Date {
    return this.#token
      ? tokenRefreshAt(this.#token.expiresAt, this.#o.tokenExpirationSeconds)
      : new Date(0);
  }

  async #requestToken(): Promise<void> {
    const source = serviceAccountTokenSource(this.#pod);
    const sa = this.#pod.spec.serviceAccountName ?? "default";
    const token = this.#record.token ??= {
      requests: 0,
      failures: 0,
      expirationSeconds: this.#o.tokenExpirationSeconds,
    };
    token.requests++;
    try {
      const answer = await this.#o.api.request<
        { status: { token: string; expirationTimestamp: string } }
      >("POST", `/api/v1/namespaces/${this.namespace}/serviceaccounts/${sa}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          ...(source?.audience ? { audiences: [source.audience] } : {}),
          expirationSeconds: this.#o.tokenExpirationSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: this.name, uid: this.uid },
        },
      });
      this.#token = {
        token: answer.status.token,
        expiresAt: new Date(answer.status.expirationTimestamp),
      };
      token.expiresAt = this.#token.expiresAt.toISOString();
      token.refreshAt = this.#refreshAt().toISOString();
      token.lastError = undefined;
    } catch (error) {
      token.failures++;
      token.lastError = (error as Error).message;
      throw new Error(`TokenRequest for ${this.namespace}/${sa}: ${(error as Error).message}`);
    }
    this.#scheduleRefresh();
  }

  /** Refreshes the token when {@linkcode tokenRefreshAt} says (one timer at a time). */
  #scheduleRefresh(delay = Math.max(0, this.#refreshAt().getTime() - Date.now())): void {
    if (this.#refreshTimer !== undefined) {
      clearTimeout(this.#refreshTimer);
      this.#timers.delete(this.#refreshTimer);
    }
    this.#refreshTimer = this.#later(delay, () => this.#refreshToken());
  }

  async #refreshToken(): Promise<void> {
    this.#refreshTimer = undefined;
    if (this.#removed) return;
    try {
      await this.#requestToken();
      await this.#writeVolume();
    } catch (error) {
      this.#o.log(
        `[pods] ${this.namespace}/${this.name}: ${(error as Error).message}; retrying in 10s`,
      );
      this.#writeRecord();
      this.#scheduleRefresh(10_000);
    }
  }

  /** Writes the Secret volume from the Secret as it is now; throws the mount error. */
  async #syncSecret(volume: SecretVolume): Promise<void> {
    const record = this.#record.secret ??= {
      name: volume.secretName,
      syncFrequencySeconds: syncFrequencyMs(this.#pod, this.#o.syncFrequencyMs) / 1000,
      syncs: 0,
      writes: 0,
    };
    record.syncs++;
    try {
      const files = await readSecretVolume(this.#o.api, this.namespace, volume);
      if (this.#removed) return;
      if (await writeVolume(this.paths.serviceAccountDir, files)) {
        record.writes++;
        record.updatedAt = new Date().toISOString();
        const keys = Object.keys(files).sort().join(", ");
        this.#o.log(
          `[pods] ${this.namespace}/${this.name}: secret "${volume.secretName}" written (${keys})`,
        );
      }
      record.lastError = undefined;
    } catch (error) {
      record.lastError = (error as Error).message;
      throw error;
    } finally {
      this.#writeRecord();
    }
  }

  /** Syncs the Secret volume after the sync frequency and its jitter (one timer at a time). */
  #scheduleSecretSync(): void {
    if (this.#secretTimer !== undefined || !this.#record.secret) return;
    const delay = syncDelayMs(this.#record.secret.syncFrequencySeconds * 1000);
    this.#secretTimer = this.#later(delay, async () => {
      this.#secretTimer = undefined;
      const volume = secretVolumeAt(this.#pod, SERVICE_ACCOUNT_PATH);
      if (this.#removed || !volume) return;
      await this.#syncSecret(volume).catch((error) =>
        this.#o.log(
          `[pods] ${this.namespace}/${this.name}: ${(error as Error).message}; files kept`,
        )
      );
      this.#scheduleSecretSync();
    });
  }

  async #syncCa(data: string): Promise<void> {
    if (this.#ended || !this.#volumeWritten || this.#ca?.source === "override") return;
    if (!data || data === this.#ca?.data) return;
    this.#ca = { data, source: "configmap" };
    await this.#writeVolume();
    this.#o.log(`[pods] ${this.namespace}/${this.name}: ca.crt updated from kube-root-ca.crt`);
  }

  async #writeVolume(): Promise<void> {
    if (!this.#token || !this.#ca || this.#removed) return;
    const wrote = await writeVolume(this.paths.serviceAccountDir, {
      "ca.crt": { data: this.#ca.data },
      namespace: { data: this.namespace },
      token: { data: this.#token.token, mode: 0o600 },
    });
    this.#volumeWritten = true;
    if (wrote && this.#caWritten !== this.#ca.data) {
      this.#record.ca = {
        source: this.#ca.source,
        writes: (this.#record.ca?.writes ?? 0) + 1,
        updatedAt: new Date().toISOString(),
      };
      this.#caWritten = this.#ca.data;
    }
    this.#writeRecord();
  }

  #setState(state: PodProcessState, reason?: string): void {
    this.#record.state = state;
    this.#record.reason = reason;
    this.#record.pid = this.pid;
    this.#writeRecord();
  }

  #writeRecord(): void {
    if (this.#removed) return;
    const snapshot = structuredClone(this.#record);
    this.#recordWrites = this.#recordWrites.then(async () => {
      if (this.#removed) return;
      await Deno.mkdir(this.paths.dir, { recursive: true });
      await writeJsonAtomic(this.paths.recordFile, snapshot);
    }).catch(() => {});
  }
}

/** Copies a deleted pod's status.json and process.log to its `endedDir`. */
async function keepEnded(paths: PodPaths): Promise<void> {
  await Deno.mkdir(paths.endedDir, { recursive: true });
  for (const file of [paths.statusFile, paths.logFile]) {
    await Deno.copyFile(file, join(paths.endedDir, basename(file))).catch(() => {});
  }
}
