/**
 * Real processes for kwok pods. kwok runs nothing, so the supervisor runs one process per pod
 * of a workload whose pod template carries the label `ca-rotator.test/process: <program>`
 * (programs: pod_programs.ts), for as long as the pod exists: started once kwok has made the
 * pod Running, stopped (SIGTERM, then SIGKILL) when it is deleted or replaced, restarted with
 * back-off if it exits. It runs in the cluster's network namespace (the supervisor's) with
 * what the kubelet would give the pod's container:
 *
 * - `<podDir>/var/run/secrets/kubernetes.io/serviceaccount/` (when the pod has the projected
 *   ServiceAccount token volume the ServiceAccount admission plugin adds), written as the
 *   kubelet's AtomicWriter writes it (pod_volume.ts): `token`, a token bound to the pod from
 *   the TokenRequest API for `spec.serviceAccountName`, refreshed once 80 % of its lifetime
 *   has passed; `ca.crt`, the namespace's kube-root-ca.crt, rewritten whenever that ConfigMap
 *   changes (a watch), unless the pod's `ca-rotator.test/ca-file-override` annotation gives
 *   other PEM; `namespace`.
 * - Or, when the pod's container mounts a `secret` volume at that path (a legacy
 *   service-account token Secret, with `automountServiceAccountToken: false`), exactly the
 *   Secret's keys, synced as the kubelet syncs a Secret volume (pod_secret_volume.ts): every
 *   `syncFrequencyMs` (the kubelet's `--sync-frequency`, 60 s; a pod's
 *   `ca-rotator.test/sync-frequency-seconds` annotation sets its own) plus up to 50 % jitter. A
 *   Secret that does not exist keeps the process from starting (the kubelet's
 *   ContainerCreating): process.json says `waiting`, with the kubelet's mount error as reason.
 * - Environment: KUBERNETES_SERVICE_HOST/PORT (haproxy, `198.18.<n>.100:6443`), POD_NAME,
 *   POD_NAMESPACE, SERVICEACCOUNT_DIR (the directory above; a program reads it where
 *   rest.InClusterConfig reads /var/run/secrets/kubernetes.io/serviceaccount), STATUS_FILE
 *   (`<podDir>/status.json`), the literal env of the pod's first container, nothing else.
 *
 * `<podDir>` is `<stateDir>/pods/<namespace>_<pod>/`, also holding `process.log` and
 * `process.json` (the mechanism's record: pid, state, restarts, token, ca, secret); it is removed
 * when the pod is deleted. The supervisor reaches the API with the admin kubeconfig (pod_api.ts).
 * @module
 */
import { join } from "node:path";
import { AdminApi, type KubeObject, listAndWatch } from "./pod_api.ts";
import { type PodPaths, podPaths, PodProcess, type PodProcessRecord } from "./pod_process.ts";
import { type Pod, PROCESS_LABEL } from "./pod_programs.ts";
import { KUBELET_SYNC_FREQUENCY_MS } from "./pod_secret_volume.ts";

export { CA_FILE_OVERRIDE_ANNOTATION, POD_PROGRAMS, PROCESS_LABEL } from "./pod_programs.ts";
export { SYNC_FREQUENCY_ANNOTATION } from "./pod_secret_volume.ts";
export type { PodPaths, PodProcessRecord };

/** The pods directory of a cluster. */
export function podsDir(stateDir: string): string {
  return join(stateDir, "pods");
}

/** The files of pod `namespace/name` of the cluster in `stateDir`. */
export function podFiles(stateDir: string, namespace: string, name: string): PodPaths {
  return podPaths(podsDir(stateDir), namespace, name);
}

/** Options of {@linkcode PodProcesses}. */
export interface PodProcessesOptions {
  /** The cluster's state directory. */
  stateDir: string;
  /** Directory of the binaries. */
  binDir: string;
  /** Root of the control-plane node whose `/etc/kubernetes/admin.conf` is used. */
  adminRoot: string;
  /** The cluster's load balancer (the `kubernetes` Service the pods see). */
  endpoint: { ip: string; port: number };
  /** Lifetime of the tokens requested (default 600 s, the least the API server accepts). */
  tokenExpirationSeconds?: number;
  /**
   * How often a pod's Secret volume is synced, before a jitter of up to 50 %: the kubelet's
   * `--sync-frequency` (default 60 s, the kubelet's). A pod's sync-frequency annotation
   * overrides it.
   */
  syncFrequencyMs?: number;
  /** Log line sink. */
  log: (line: string) => void;
  /** Called when a process starts or ends (the supervisor saves state.json). */
  onChange?: () => void;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The pods' processes of one cluster (see the module documentation). */
export class PodProcesses {
  #o: PodProcessesOptions;
  #api: AdminApi;
  #byUid = new Map<string, PodProcess>();
  /** Stops under way, by `namespace/name`: a namesake pod starts only after. */
  #stopping = new Map<string, Promise<void>>();
  #rootCa = new Map<string, string>();
  #abort = new AbortController();
  #loops: Promise<void>[] = [];

  /** Nothing runs before {@linkcode start}. */
  constructor(options: PodProcessesOptions) {
    this.#o = options;
    this.#api = new AdminApi(options.adminRoot);
  }

  /**
   * Starts watching the labelled pods and the kube-root-ca.crt ConfigMaps; resolves once both
   * have been listed (throws if that takes more than `timeoutMs`).
   */
  async start(timeoutMs = 60_000): Promise<void> {
    const signal = this.#abort.signal;
    const log = this.#o.log;
    let podsListed!: () => void;
    let configMapsListed!: () => void;
    const listed = Promise.all([
      new Promise<void>((r) => podsListed = r),
      new Promise<void>((r) => configMapsListed = r),
    ]);
    this.#loops.push(
      listAndWatch<ConfigMap>(
        this.#api,
        "/api/v1/configmaps",
        `fieldSelector=${encodeURIComponent("metadata.name=kube-root-ca.crt")}`,
        {
          replace: (items) => {
            for (const cm of items) this.#setRootCa(cm);
            configMapsListed();
          },
          event: (type, cm) => {
            if (type === "DELETED") this.#rootCa.delete(cm.metadata.namespace ?? "");
            else this.#setRootCa(cm);
          },
        },
        { signal, log, what: "watching kube-root-ca.crt" },
      ),
      listAndWatch<Pod>(
        this.#api,
        "/api/v1/pods",
        `labelSelector=${encodeURIComponent(PROCESS_LABEL)}`,
        {
          replace: (items) => {
            const uids = new Set(items.map((p) => p.metadata.uid));
            for (const uid of [...this.#byUid.keys()]) if (!uids.has(uid)) this.#remove(uid);
            for (const pod of items) this.#upsert(pod);
            podsListed();
          },
          event: (type, pod) => {
            if (type === "DELETED") this.#remove(pod.metadata.uid ?? "");
            else this.#upsert(pod);
          },
        },
        { signal, log, what: `watching pods with label ${PROCESS_LABEL}` },
      ),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        listed,
        new Promise((_, reject) =>
          timer = setTimeout(
            () =>
              reject(new Error(`pods and kube-root-ca.crt not listed after ${timeoutMs / 1000}s`)),
            timeoutMs,
          )
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops watching and every process (SIGTERM, SIGKILL after `graceMs`); keeps their files. */
  async stop(graceMs = 5_000): Promise<void> {
    this.#abort.abort();
    this.#api.reset();
    await Promise.all(this.#loops);
    await Promise.all([...this.#byUid.values()].map((p) => p.stop(false, graceMs)));
    await Promise.all(this.#stopping.values());
  }

  /** Pids of the running processes, by `namespace/pod`. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const p of this.#byUid.values()) {
      if (p.pid !== undefined) pids[`${p.namespace}/${p.name}`] = p.pid;
    }
    return pids;
  }

  /** The records of the pods followed now. */
  records(): PodProcessRecord[] {
    return [...this.#byUid.values()].map((p) => p.record);
  }

  #options() {
    return {
      api: this.#api,
      binDir: this.#o.binDir,
      podsDir: podsDir(this.#o.stateDir),
      endpoint: this.#o.endpoint,
      tokenExpirationSeconds: this.#o.tokenExpirationSeconds ?? 600,
      syncFrequencyMs: this.#o.syncFrequencyMs ?? KUBELET_SYNC_FREQUENCY_MS,
      rootCaOf: (ns: string) => this.#rootCa.get(ns),
      log: this.#o.log,
      onChange: () => this.#o.onChange?.(),
    };
  }

  #upsert(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    let p = this.#byUid.get(uid);
    if (!p) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      p = new PodProcess(pod, this.#options(), this.#stopping.get(key));
      this.#byUid.set(uid, p);
    }
    p.update(pod);
  }

  #remove(uid: string): void {
    const p = this.#byUid.get(uid);
    if (!p) return;
    this.#byUid.delete(uid);
    const key = `${p.namespace}/${p.name}`;
    const stopped = p.stop(true).finally(() => {
      if (this.#stopping.get(key) === stopped) this.#stopping.delete(key);
    });
    this.#stopping.set(key, stopped);
  }

  #setRootCa(cm: ConfigMap): void {
    const ns = cm.metadata.namespace ?? "";
    const data = cm.data?.["ca.crt"];
    if (!data || this.#rootCa.get(ns) === data) return;
    this.#rootCa.set(ns, data);
    for (const p of this.#byUid.values()) if (p.namespace === ns) p.rootCaChanged(data);
  }
}
