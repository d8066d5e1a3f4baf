/**
 * The part of the kubelet that runs static pods, for one control-plane node root: it watches
 * the node's static-pod directory (`staticPodPath` of R/var/lib/kubelet/config.yaml, normally
 * /etc/kubernetes/manifests), starts each pod's container command as a process (paths and
 * addresses mapped into the node, see path_map.ts), restarts it when the pod in the manifest
 * changes (an annotation is enough; formatting and comments are not) or when it exits (with
 * back-off), and reports each component in R/var/run/static-pods/<pod>.json.
 * @module
 */
import { join } from "node:path";
import { parse } from "yaml";
import { httpProbe } from "./http_probe.ts";
import { ManagedProcess } from "./managed_process.ts";
import { hostPath, mapCommand, mapHost, type NodeContext } from "./path_map.ts";
import {
  type HttpProbe,
  manifestHash,
  parseStaticPod,
  type StaticPod,
} from "./static_pod_manifest.ts";
import { writeJsonAtomic } from "./state.ts";

/** What R/var/run/static-pods/<pod>.json says about one static pod. */
export interface ComponentStatus {
  /** The pod's `metadata.name`, e.g. `kube-apiserver`. */
  component: string;
  /** The manifest's path on the node, e.g. `/etc/kubernetes/manifests/kube-apiserver.yaml`. */
  manifest: string;
  /** Hex SHA-256 of the manifest file's bytes the running process was started from. */
  manifestHash: string;
  /** Hex SHA-256 of the pod object (canonical JSON); a change of it restarts the component. */
  podHash: string;
  /** Pid of the running process, `null` when none runs. */
  pid: number | null;
  /** `running`; `backoff` (exited, waiting to restart); `stopped` (manifest removed). */
  state: "running" | "backoff" | "stopped";
  /** Whether the readiness probe (else startup, else liveness probe) last succeeded. */
  ready: boolean;
  /** ISO time the current process started. */
  startedAt: string | null;
  /** How many times the component was restarted (manifest change or exit). */
  restarts: number;
  /** Why it was last restarted. */
  lastRestartReason: "manifest-changed" | "exited" | null;
  /** How the previous process ended. */
  lastExit: { code: number; signal: string | null; at: string } | null;
  /** The argv the process was started with (host paths). */
  command: string[];
  /** ISO time of this report. */
  updatedAt: string;
}

/** Options of {@linkcode StaticPodRunner}. */
export interface StaticPodRunnerOptions {
  /** The node: root, address and name. */
  node: NodeContext & { name: string };
  /** Directory of the component binaries. */
  binDir: string;
  /** Receives one line per event. */
  log: (line: string) => void;
  /** How often the manifest directory is read, in milliseconds. */
  pollMs?: number;
  /** Called whenever a component's pid changes. */
  onChange?: () => void;
  /**
   * Milliseconds between SIGTERM and SIGKILL when a manifest change restarts a component
   * (the kubelet waits the pod's termination grace period, 30 s by default; an API server
   * with open watches uses all of it, so the default here is shorter).
   */
  graceMs?: number;
}

interface Component {
  name: string;
  file: string;
  manifestHash: string;
  podHash: string;
  pod: StaticPod;
  argv: string[];
  proc?: ManagedProcess;
  generation: number;
  state: ComponentStatus["state"];
  ready: boolean;
  startedAt: number | null;
  restarts: number;
  lastRestartReason: ComponentStatus["lastRestartReason"];
  lastExit: ComponentStatus["lastExit"];
  backoffMs: number;
  nextStartAt: number;
  probing: boolean;
  nextProbeAt: number;
  probeFailures: number;
  written: string;
}

interface ManifestFile {
  file: string;
  manifestHash: string;
  podHash?: string;
  pod?: StaticPod;
}

const MAX_BACKOFF_MS = 20_000;

/** Runs the static pods of one node root. */
export class StaticPodRunner {
  #opts:
    & Required<Omit<StaticPodRunnerOptions, "onChange">>
    & Pick<StaticPodRunnerOptions, "onChange">;
  #stopGraceMs = 0;
  #components = new Map<string, Component>();
  /** The last status write of each component: the next one waits for it. */
  #reports = new Map<string, Promise<void>>();
  #previousScan = new Map<string, string>();
  #parsed = new Map<string, ManifestFile>();
  #reportedInvalid = new Set<string>();
  #stopping = false;
  #loop?: Promise<void>;
  #manifestDir = "/etc/kubernetes/manifests";
  #statusDir: string;
  #logDir: string;

  /** Creates a runner; call {@linkcode start}. */
  constructor(options: StaticPodRunnerOptions) {
    this.#opts = { pollMs: 500, graceMs: 5_000, ...options };
    this.#stopGraceMs = this.#opts.graceMs;
    this.#statusDir = hostPath(options.node.root, "/var/run/static-pods");
    this.#logDir = hostPath(options.node.root, "/var/log");
  }

  /** Reads the kubelet configuration for `staticPodPath` and starts watching. */
  async start(): Promise<void> {
    try {
      const config = parse(
        await Deno.readTextFile(hostPath(this.#opts.node.root, "/var/lib/kubelet/config.yaml")),
      );
      if (typeof config?.staticPodPath === "string" && config.staticPodPath) {
        this.#manifestDir = config.staticPodPath;
      }
    } catch {
      // no kubelet configuration: the kubeadm default
    }
    await Deno.mkdir(this.#statusDir, { recursive: true });
    await Deno.mkdir(this.#logDir, { recursive: true });
    this.#log(`watching ${this.#manifestDir}`);
    this.#loop = this.#run();
  }

  /** Stops the watch and every component (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 3_000): Promise<void> {
    this.#stopping = true;
    this.#stopGraceMs = graceMs;
    await this.#loop;
    await Promise.all([...this.#components.values()].map(async (c) => {
      await this.#stopProcess(c);
      c.state = "stopped";
      await this.#report(c);
    }));
  }

  /** Pids of the running components, by pod name. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const c of this.#components.values()) {
      if (c.proc && !c.proc.done) pids[c.name] = c.proc.pid;
    }
    return pids;
  }

  /** Names of the components that are not running and ready (all of them before the first scan). */
  notReady(): string[] {
    if (this.#components.size === 0) return ["(no static pod started yet)"];
    return [...this.#components.values()]
      .filter((c) => c.state !== "running" || !c.ready)
      .map((c) => c.name);
  }

  #log(line: string) {
    this.#opts.log(`[${this.#opts.node.name}] ${line}`);
  }

  async #run() {
    while (!this.#stopping) {
      try {
        await this.#tick();
      } catch (error) {
        this.#log(`static-pod runner error: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, this.#opts.pollMs));
    }
  }

  async #scan(): Promise<Map<string, ManifestFile>> {
    const dir = hostPath(this.#opts.node.root, this.#manifestDir);
    const files = new Map<string, ManifestFile>();
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return files;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || entry.isDirectory) continue;
      const file = join(this.#manifestDir, entry.name);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(join(dir, entry.name));
      } catch {
        continue;
      }
      const hash = await manifestHash(bytes);
      const cached = this.#parsed.get(file);
      if (cached?.manifestHash === hash) {
        files.set(file, cached);
        continue;
      }
      const parsed: ManifestFile = { file, manifestHash: hash };
      try {
        const text = new TextDecoder().decode(bytes);
        parsed.pod = parseStaticPod(text, file);
        parsed.podHash = await manifestHash(canonicalJson(parse(text)));
      } catch (error) {
        const key = `${file}@${hash}`;
        if (!this.#reportedInvalid.has(key)) {
          this.#reportedInvalid.add(key);
          this.#log(`ignoring ${file}: ${(error as Error).message}`);
        }
      }
      this.#parsed.set(file, parsed);
      files.set(file, parsed);
    }
    return files;
  }

  async #tick() {
    const scan = await this.#scan();
    // A file is acted on once it read the same on two consecutive scans (not mid-write).
    const unsettled = new Set<string>();
    for (const [file, m] of scan) {
      if (this.#previousScan.get(file) !== m.manifestHash) unsettled.add(file);
    }
    for (const file of this.#previousScan.keys()) if (!scan.has(file)) unsettled.add(file);
    this.#previousScan = new Map([...scan].map(([f, m]) => [f, m.manifestHash]));

    const desired = new Map<string, ManifestFile>();
    for (const m of scan.values()) {
      if (unsettled.has(m.file) || !m.pod) continue;
      const other = desired.get(m.pod.name);
      if (other) {
        const key = `dup:${m.file}@${m.manifestHash}`;
        if (!this.#reportedInvalid.has(key)) {
          this.#reportedInvalid.add(key);
          this.#log(
            `ignoring ${m.file}: static pod ${m.pod.name} is already defined by ${other.file}`,
          );
        }
        continue;
      }
      desired.set(m.pod.name, m);
    }

    for (const c of [...this.#components.values()]) {
      if (desired.has(c.name) || unsettled.has(c.file)) continue;
      const stillThere = scan.get(c.file);
      if (stillThere && !stillThere.pod) continue; // unreadable: keep what runs, as the kubelet does
      this.#log(`${c.name}: manifest removed, stopping`);
      await this.#stopProcess(c);
      c.state = "stopped";
      c.ready = false;
      await this.#report(c);
      this.#components.delete(c.name);
    }

    for (const [name, m] of desired) {
      const c = this.#components.get(name);
      if (!c) {
        await this.#startNew(m);
      } else if (c.podHash !== m.podHash) {
        this.#log(`${name}: ${m.file} changed, restarting`);
        await this.#stopProcess(c);
        c.file = m.file;
        c.pod = m.pod!;
        c.podHash = m.podHash!;
        c.manifestHash = m.manifestHash;
        c.restarts++;
        c.lastRestartReason = "manifest-changed";
        c.backoffMs = 0;
        await this.#spawn(c);
      } else if (c.manifestHash !== m.manifestHash) {
        c.manifestHash = m.manifestHash; // same pod, other bytes: no restart
        await this.#report(c);
      }
    }

    const now = Date.now();
    for (const c of this.#components.values()) {
      if (c.state === "backoff" && now >= c.nextStartAt) {
        c.restarts++;
        c.lastRestartReason = "exited";
        await this.#spawn(c);
      }
      if (c.state === "running" && !c.probing && now >= c.nextProbeAt) this.#probe(c);
    }
  }

  async #startNew(m: ManifestFile) {
    const c: Component = {
      name: m.pod!.name,
      file: m.file,
      manifestHash: m.manifestHash,
      podHash: m.podHash!,
      pod: m.pod!,
      argv: [],
      generation: 0,
      state: "running",
      ready: false,
      startedAt: null,
      restarts: 0,
      lastRestartReason: null,
      lastExit: null,
      backoffMs: 0,
      nextStartAt: 0,
      probing: false,
      nextProbeAt: 0,
      probeFailures: 0,
      written: "",
    };
    if (c.pod.containers.length > 1) {
      this.#log(`${c.name}: only the first of ${c.pod.containers.length} containers is run`);
    }
    this.#components.set(c.name, c);
    await this.#spawn(c);
  }

  async #spawn(c: Component) {
    const container = c.pod.containers[0];
    c.argv = mapCommand(container.command, this.#opts.node, this.#opts.binDir);
    const logFile = join(this.#logDir, `${c.name}.log`);
    await Deno.writeTextFile(
      logFile,
      `\n=== ${new Date().toISOString()} static-pod runner: starting ${c.name} (${
        c.lastRestartReason ?? "first start"
      }) from ${c.file} sha256:${c.manifestHash}\n`,
      { append: true },
    );
    const proc = ManagedProcess.spawn({ argv: c.argv, logFile });
    const generation = ++c.generation;
    c.proc = proc;
    c.state = "running";
    c.ready = false;
    c.startedAt = Date.now();
    c.probeFailures = 0;
    const probe = readinessProbe(container.probes);
    c.nextProbeAt = Date.now() + (probe ? Math.min(probe.initialDelaySeconds, 1) * 1000 : 0);
    this.#log(`${c.name}: started pid ${proc.pid}`);
    await this.#report(c);
    this.#opts.onChange?.();
    proc.exited.then(async (status) => {
      if (c.generation !== generation || c.proc !== proc) return;
      c.lastExit = { code: status.code, signal: status.signal, at: new Date().toISOString() };
      c.proc = undefined;
      c.ready = false;
      if (this.#stopping || c.state === "stopped") return;
      const ranMs = Date.now() - (c.startedAt ?? 0);
      c.backoffMs = ranMs > 60_000
        ? 1000
        : Math.min(Math.max(c.backoffMs * 2, 1000), MAX_BACKOFF_MS);
      c.nextStartAt = Date.now() + c.backoffMs;
      c.state = "backoff";
      this.#log(
        `${c.name}: pid ${proc.pid} exited (code ${status.code}${
          status.signal ? `, ${status.signal}` : ""
        }), restarting in ${c.backoffMs / 1000}s`,
      );
      await this.#report(c);
      this.#opts.onChange?.();
    });
  }

  async #stopProcess(c: Component) {
    const proc = c.proc;
    if (!proc) return;
    c.generation++; // the exit below is intended, not a crash
    c.proc = undefined;
    const status = await proc.stop(this.#stopGraceMs);
    c.lastExit = { code: status.code, signal: status.signal, at: new Date().toISOString() };
    c.ready = false;
    this.#opts.onChange?.();
  }

  #probe(c: Component) {
    const container = c.pod.containers[0];
    const probe = readinessProbe(container.probes);
    if (!probe) {
      c.nextProbeAt = Number.MAX_SAFE_INTEGER;
      if (!c.ready) {
        c.ready = true;
        this.#report(c);
      }
      return;
    }
    c.probing = true;
    const generation = c.generation;
    httpProbe({
      scheme: probe.scheme,
      host: mapHost(probe.host, this.#opts.node),
      port: probe.port,
      path: probe.path,
      timeoutMs: Math.min(probe.timeoutSeconds, 5) * 1000,
    }).then(async (ok) => {
      c.probing = false;
      c.nextProbeAt = Date.now() + Math.max(1, Math.min(probe.periodSeconds, 2)) * 1000;
      if (c.generation !== generation || c.state !== "running") return;
      c.probeFailures = ok ? 0 : c.probeFailures + 1;
      const ready = ok || (c.ready && c.probeFailures < probe.failureThreshold);
      if (ready !== c.ready) {
        c.ready = ready;
        this.#log(`${c.name}: ${ready ? "ready" : "not ready"}`);
      }
      await this.#report(c);
    });
  }

  /**
   * Writes the component's status file, one write at a time per component: the tick, a probe and
   * an exit may report at once, and two writes through one temporary file would race (the
   * second rename finding it gone). A failed write is logged, never thrown into a caller that
   * does not wait for it.
   */
  #report(c: Component): Promise<void> {
    const previous = this.#reports.get(c.name) ?? Promise.resolve();
    const next = previous.then(() => this.#writeStatus(c)).catch((error) =>
      this.#log(`${c.name}: status not written: ${(error as Error).message}`)
    );
    this.#reports.set(c.name, next);
    return next;
  }

  async #writeStatus(c: Component) {
    const status: Omit<ComponentStatus, "updatedAt"> = {
      component: c.name,
      manifest: c.file,
      manifestHash: c.manifestHash,
      podHash: c.podHash,
      pid: c.proc && !c.proc.done ? c.proc.pid : null,
      state: c.state,
      ready: c.ready,
      startedAt: c.startedAt === null ? null : new Date(c.startedAt).toISOString(),
      restarts: c.restarts,
      lastRestartReason: c.lastRestartReason,
      lastExit: c.lastExit,
      command: c.argv,
    };
    const text = JSON.stringify(status);
    if (text === c.written) return;
    c.written = text;
    await writeJsonAtomic(join(this.#statusDir, `${c.name}.json`), {
      ...status,
      updatedAt: new Date().toISOString(),
    });
  }
}

function readinessProbe(probes: StaticPod["containers"][number]["probes"]): HttpProbe | undefined {
  return probes.readiness ?? probes.startup ?? probes.liveness;
}

/** JSON with object keys sorted, so that equal objects give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}
