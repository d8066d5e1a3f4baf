/**
 * `cluster up`, `cluster down` and `cluster env` as functions (the CLI in main.ts and the test
 * harness both call these).
 * @module
 */
import { join, resolve } from "node:path";
import { ensureBinaries } from "./binaries.ts";
import { ensureHaproxy } from "./haproxy.ts";
import { kubeadmVersion } from "./kubeadm.ts";
import {
  adminKubeconfig,
  type ClusterOptions,
  DEFAULT_STATE_DIR,
  endpointUrl,
  networkAddresses,
  planLayout,
  resolveOptions,
} from "./layout.ts";
import {
  claimNetwork,
  type ClusterNetwork,
  createNetwork,
  inNetns,
  netnsMembers,
  netnsPath,
  networkOwnership,
  removeNetwork,
} from "./netns.ts";
import { createControlPlaneRoots, createWorkerRoots } from "./node_roots.ts";
import { prepareSsh, SSH_USER, sshdInstalled, sshPaths } from "./node_ssh.ts";
import {
  clusterProcesses,
  type ClusterState,
  isSupervisor,
  processAlive,
  readState,
  writeState,
} from "./state.ts";

/**
 * Options of {@linkcode up}: the cluster's shape, where `subnet: "auto"` claims a free
 * 198.18.<n> subnet (so that several clusters can run at once), and more.
 */
export interface UpOptions extends Partial<ClusterOptions> {
  /** Leave a cluster that failed to start running (for debugging) instead of tearing it down. */
  keepOnFailure?: boolean;
  /** Receives progress lines; default: stderr. */
  log?: (line: string) => void;
}

/** Result of {@linkcode up}. */
export interface UpResult {
  /** state.json of the running cluster. */
  state: ClusterState;
  /** Milliseconds `up` took. */
  elapsedMs: number;
}

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/**
 * Sets up the machine for clusters: installs haproxy, iproute2 (`ip`) and openssl if missing
 * and builds the binaries.
 */
export async function setup(log: (line: string) => void = console.error): Promise<string> {
  await ensureHaproxy(log);
  return await ensureBinaries(log);
}

/**
 * Builds (if needed), creates the cluster's network namespace and veth pair (see netns.ts),
 * generates the node roots with kubeadm, starts the detached supervisor inside the namespace
 * and waits until the cluster is ready. Throws (after tearing down, unless `keepOnFailure`)
 * when it does not become ready.
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const auto = options.subnet === "auto";
  const opts = resolveOptions({ ...options, subnet: auto ? "198.18.0" : options.subnet });
  const stateDir = opts.stateDir;
  const existing = await readState(stateDir);
  if (existing?.supervisorPid && isSupervisor(existing.supervisorPid, stateDir)) {
    throw new Error(
      `A cluster is already up in ${stateDir} (supervisor pid ${existing.supervisorPid}); run \`deno task cluster down\` first`,
    );
  }
  if (existing || await exists(stateDir)) {
    log(`[up] removing the leftovers of an earlier cluster in ${stateDir}`);
    await down({ stateDir, log });
  }

  const haproxy = await ensureHaproxy(log);
  const binDir = await ensureBinaries(log);
  await Deno.mkdir(stateDir, { recursive: true });
  let network: ClusterNetwork;
  try {
    const owner = resolve(stateDir);
    network = auto
      ? await claimNetwork((subnet) => networkAddresses(planLayout({ ...opts, subnet })), owner)
      : await createNetwork(opts.subnet, networkAddresses(planLayout(opts)), owner);
  } catch (error) {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    throw error;
  }
  opts.subnet = network.subnet;
  const layout = planLayout(opts);
  let state: ClusterState = {
    status: "creating",
    layout,
    binDir,
    network,
    kubeconfig: adminKubeconfig(layout),
    pids: {},
    createdAt: new Date().toISOString(),
  };
  await writeState(stateDir, state).catch(async (error) => {
    await removeNetwork(network, { netns: true, hostInterface: true }).catch(() => {});
    throw error;
  });
  log(
    `[up] network namespace ${network.netns}: ${
      network.addresses.join(", ")
    } (veth ${network.hostInterface} ${network.hostAddress} ↔ ${network.nsInterface})`,
  );

  let supervisor: Deno.ChildProcess | undefined;
  try {
    const version = await kubeadmVersion(binDir);
    log(
      `[up] generating node roots with kubeadm ${version} (${opts.apiServers} control-plane, ${opts.nodes} workers)`,
    );
    await createControlPlaneRoots(layout, binDir, version, log);
    await createWorkerRoots(layout, log);
    if (opts.ssh) {
      if (!await sshdInstalled()) {
        throw new Error("--ssh needs sshd: run `deno task cluster setup` (openssh-server, sudo)");
      }
      const ssh = await prepareSsh(layout);
      log(`[up] ssh: user ${SSH_USER}, key ${ssh.identityFile}, known_hosts ${ssh.knownHostsFile}`);
    }
    state = { ...state, status: "starting" };
    await writeState(stateDir, state);

    const logFile = join(stateDir, "supervisor.log");
    await Deno.writeTextFile(logFile, "");
    // Inside the cluster's network namespace (ip execs deno, so the pid stays the
    // supervisor's): everything it starts listens on the node addresses there.
    const argv = inNetns(network.netns, [
      Deno.execPath(),
      "run",
      "-A",
      "--cached-only",
      `--config=${DENO_CONFIG}`,
      MAIN,
      "supervise",
      `--state-dir=${stateDir}`,
      `--haproxy=${haproxy}`,
    ]);
    supervisor = new Deno.Command("/bin/sh", {
      args: ["-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null', "sh", logFile, ...argv],
      detached: true,
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    supervisor.unref();
    state = { ...state, supervisorPid: supervisor.pid };
    await writeState(stateDir, state);
    log(`[up] supervisor started (pid ${supervisor.pid}, log ${logFile})`);

    const final = await followUntilSettled(stateDir, logFile, supervisor.pid, log, 300_000);
    if (final.status !== "ready") {
      throw new Error(final.error ?? `the cluster did not become ready (${final.status})`);
    }
    const elapsedMs = Date.now() - started;
    log(`[up] cluster ready in ${(elapsedMs / 1000).toFixed(1)}s; kubeconfig: ${final.kubeconfig}`);
    return { state: final, elapsedMs };
  } catch (error) {
    log(`[up] failed: ${(error as Error).message}`);
    if (options.keepOnFailure) {
      log(
        `[up] leaving the cluster in ${stateDir} for inspection; \`deno task cluster down\` removes it`,
      );
    } else {
      await down({ stateDir, log });
    }
    throw error;
  }
}

async function followUntilSettled(
  stateDir: string,
  logFile: string,
  pid: number,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<ClusterState> {
  const deadline = Date.now() + timeoutMs;
  let offset = 0;
  let partial = "";
  const drain = async () => {
    const file = await Deno.open(logFile, { read: true });
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      let n: number | null;
      while ((n = await file.read(buf)) !== null && n > 0) {
        chunks.push(buf.slice(0, n));
        offset += n;
      }
      const text = partial + new TextDecoder().decode(await new Blob(chunks as BlobPart[]).bytes());
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) log(`  ${line}`);
    } finally {
      file.close();
    }
  };
  while (true) {
    await drain();
    const state = await readState(stateDir);
    if (state && (state.status === "ready" || state.status === "failed")) {
      await drain();
      return state;
    }
    if (!processAlive(pid)) {
      await drain();
      throw new Error(`the supervisor (pid ${pid}) exited; see ${logFile}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`the cluster was not ready after ${timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Options of {@linkcode down}. */
export interface DownOptions {
  /** State directory of the cluster. */
  stateDir?: string;
  /** Receives progress lines; default: stderr. */
  log?: (line: string) => void;
}

/**
 * Stops everything the cluster's supervisor started (SIGTERM to the supervisor, which stops
 * its children; then SIGKILL to anything left in its process group or in the cluster's
 * network namespace), removes the veth pair and the network namespace, and removes the state
 * directory with the node roots. Throws if a process of the cluster survives.
 */
export async function down(options: DownOptions = {}): Promise<void> {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const log = options.log ?? ((line: string) => console.error(line));
  const state = await readState(stateDir).catch(() => undefined);
  const pgid = state?.supervisorPid;
  const network = state?.network?.netns ? state.network : undefined;
  const owned = network ? await networkOwnership(network) : { netns: false, hostInterface: false };
  // Everything in the namespace is the cluster's: `up` made it for this cluster alone.
  const inNamespace = () => network && owned.netns ? netnsMembers(netnsPath(network.netns)) : [];
  const leftovers = () => [
    ...new Set([...(pgid ? clusterProcesses(pgid, stateDir) : []), ...inNamespace()]),
  ];
  if (pgid) {
    if (isSupervisor(pgid, stateDir)) {
      log(`[down] stopping the supervisor (pid ${pgid}) and everything it started`);
      Deno.kill(pgid, "SIGTERM");
      const deadline = Date.now() + 60_000;
      while (processAlive(pgid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  const left = leftovers();
  if (left.length > 0) {
    log(`[down] killing ${left.length} leftover process(es): ${left.join(" ")}`);
    for (const pid of left) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 10_000;
    while (leftovers().length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const survivors = leftovers();
  if (network && (owned.netns || owned.hostInterface)) {
    log(`[down] removing veth ${network.hostInterface} and network namespace ${network.netns}`);
    await removeNetwork(network, owned);
  }
  await Deno.remove(stateDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  if (survivors.length > 0) {
    throw new Error(`Cannot stop the cluster: processes ${survivors.join(" ")} survived`);
  }
  log(`[down] cluster in ${stateDir} removed`);
}

/** Shell-quotes a value for `export NAME=value`. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The environment of a cluster, as variables. */
export function clusterEnv(state: ClusterState): Record<string, string> {
  const { layout } = state;
  return {
    KUBECONFIG: state.kubeconfig,
    CLUSTER_ENDPOINT: endpointUrl(layout),
    CLUSTER_STATE_DIR: layout.options.stateDir,
    CLUSTER_BIN_DIR: state.binDir,
    NODE_ROOTS: layout.controlPlane.map((n) => n.root).join(" "),
    NODE_NAMES: layout.controlPlane.map((n) => n.name).join(" "),
    NODE_IPS: layout.controlPlane.map((n) => n.ip).join(" "),
    WORKER_ROOTS: layout.workers.map((n) => n.root).join(" "),
    WORKER_NAMES: layout.workers.map((n) => n.name).join(" "),
    ...(layout.options.ssh ? sshEnv(state) : {}),
  };
}

/**
 * What a plan needs to reach the nodes over ssh (`up --ssh`): the user, identity file and
 * known_hosts, every address (`WORKER_IPS`; `NODE_<i>_IP`, `WORKER_<i>_IP` one by one) and the
 * load balancer's host.
 */
function sshEnv(state: ClusterState): Record<string, string> {
  const { layout } = state;
  const paths = sshPaths(layout.options.stateDir);
  return {
    SSH_USER,
    SSH_IDENTITY_FILE: paths.identityFile,
    SSH_KNOWN_HOSTS: paths.knownHostsFile,
    WORKER_IPS: layout.workers.map((n) => n.ip).join(" "),
    ...Object.fromEntries(layout.controlPlane.map((n, i) => [`NODE_${i + 1}_IP`, n.ip])),
    ...Object.fromEntries(layout.workers.map((n, i) => [`WORKER_${i + 1}_IP`, n.ip])),
  };
}

/** `export` lines for a shell: the variables of {@linkcode clusterEnv} and PATH. */
export function envLines(state: ClusterState): string[] {
  return [
    ...Object.entries(clusterEnv(state)).map(([k, v]) => `export ${k}=${quote(v)}`),
    `export PATH=${quote(state.binDir)}:"$PATH"`,
  ];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
