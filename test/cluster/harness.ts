/**
 * Test helper: a real cluster for a test suite, always torn down.
 *
 * ```ts
 * import { withCluster } from "./harness.ts";
 * Deno.test({ name: "rotation", sanitizeOps: false, sanitizeResources: false }, async (t) => {
 *   await withCluster({ apiServers: 3, nodes: 2 }, async (cluster) => {
 *     await cluster.kubectl(["get", "nodes"]);
 *     // cluster.nodeRoots, cluster.workerRoots, cluster.env.KUBECONFIG …
 *   });
 * });
 * ```
 *
 * Each cluster gets its own temporary state directory and a free 198.18.<n> subnet in a network
 * namespace of its own (reached through a veth pair), so suites may run at the same time; the supervisor is told the test process's pid and removes
 * the cluster itself if the test process dies without calling {@linkcode TestCluster.stop}.
 * Set CA_ROTATOR_CLUSTER_VERBOSE=1 to see every line of `up`, and CA_ROTATOR_API_SERVERS=3 to run
 * the load-balanced suites on three API servers instead of two ({@linkcode loadBalancedApiServers}).
 * @module
 */
import { join } from "node:path";
import { clusterEnv, down, up, type UpOptions } from "./cluster.ts";
import type { KubeletStatus } from "./kubelet_status.ts";
import type { ClusterLayout, ControlPlaneNode, WorkerNode } from "./layout.ts";
import { runCommand } from "./managed_process.ts";
import type { ClusterState } from "./state.ts";
import type { ComponentStatus } from "./static_pod_runner.ts";

/** A running test cluster. */
export interface TestCluster {
  /** state.json as of when the cluster became ready. */
  state: ClusterState;
  /** The layout (nodes, addresses, roots). */
  layout: ClusterLayout;
  /** The admin kubeconfig (server: haproxy). */
  kubeconfig: string;
  /** KUBECONFIG, CLUSTER_ENDPOINT, NODE_ROOTS, WORKER_ROOTS … and PATH with the binaries first. */
  env: Record<string, string>;
  /** Control-plane nodes. */
  nodes: ControlPlaneNode[];
  /** Worker nodes. */
  workers: WorkerNode[];
  /** Control-plane node roots. */
  nodeRoots: string[];
  /** Worker node roots. */
  workerRoots: string[];
  /** Directory of kubectl, kubeadm, … */
  binDir: string;
  /** `https://<haproxy>:6443`. */
  endpoint: string;
  /** Milliseconds `up` took. */
  upMs: number;
  /** Runs kubectl with the admin kubeconfig; returns stdout+stderr, throws on failure. */
  kubectl(args: string[], options?: { stdin?: string }): Promise<string>;
  /** Runs kubectl with `-o json` appended and parses the output. */
  kubectlJson<T = unknown>(args: string[]): Promise<T>;
  /** R/var/run/static-pods/<component>.json of a control-plane node (by name or index). */
  componentStatus(node: string | number, component: string): Promise<ComponentStatus>;
  /** W/var/run/kubelet/status.json of a node (control-plane or worker) by name. */
  kubeletStatus(node: string): Promise<KubeletStatus>;
  /** The root of a node (control-plane or worker) by name. */
  rootOf(node: string): string;
  /** Tears the cluster down (idempotent). */
  stop(): Promise<void>;
}

function harnessLog(): (line: string) => void {
  const verbose = Deno.env.get("CA_ROTATOR_CLUSTER_VERBOSE") === "1";
  return (line) => {
    if (verbose || /\[(up|down|build|setup)\]|FAILED|exited unexpectedly/.test(line)) {
      console.error(line);
    }
  };
}

/**
 * How many API servers a suite runs behind the load balancer when what it shows is that clients
 * through it see no restart (one API server restarted at a time): 2 by default, as in CI, where
 * a third API server and its stacked etcd member cost the parallel suites about 17 % of a core
 * idle (a test cluster idles at 44 % with three, 27 % with two) and one more restart per
 * API-server step; `CA_ROTATOR_API_SERVERS=3` for the full run.
 * Suites that restart etcd members keep 3 (two members lose quorum while one restarts).
 */
export function loadBalancedApiServers(): 2 | 3 {
  const wanted = Deno.env.get("CA_ROTATOR_API_SERVERS") ?? "2";
  if (wanted !== "2" && wanted !== "3") {
    throw new Error(`CA_ROTATOR_API_SERVERS: ${JSON.stringify(wanted)} is neither 2 nor 3`);
  }
  return wanted === "2" ? 2 : 3;
}

/** Starts a cluster (see the module documentation for the defaults). */
export async function startCluster(options: UpOptions = {}): Promise<TestCluster> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "ca-rotator-cluster-" });
  const log = options.log ?? harnessLog();
  const { state, elapsedMs } = await up({
    subnet: "auto",
    nodes: 2,
    ownerPid: Deno.pid,
    ...options,
    stateDir,
    log,
  });
  const { layout } = state;
  const env: Record<string, string> = {
    ...clusterEnv(state),
    PATH: `${state.binDir}:${Deno.env.get("PATH") ?? ""}`,
  };
  let stopped: Promise<void> | undefined;
  const rootOf = (name: string) => {
    const node = [...layout.controlPlane, ...layout.workers].find((n) => n.name === name);
    if (!node) throw new Error(`No node ${name} in this cluster`);
    return node.root;
  };
  const kubectl = (args: string[], opts: { stdin?: string } = {}) =>
    runCommand([join(state.binDir, "kubectl"), `--kubeconfig=${state.kubeconfig}`, ...args], opts);
  return {
    state,
    layout,
    kubeconfig: state.kubeconfig,
    env,
    nodes: layout.controlPlane,
    workers: layout.workers,
    nodeRoots: layout.controlPlane.map((n) => n.root),
    workerRoots: layout.workers.map((n) => n.root),
    binDir: state.binDir,
    endpoint: env.CLUSTER_ENDPOINT,
    upMs: elapsedMs,
    kubectl,
    async kubectlJson<T>(args: string[]): Promise<T> {
      const out = await runCommand([
        join(state.binDir, "kubectl"),
        `--kubeconfig=${state.kubeconfig}`,
        ...args,
        "-o",
        "json",
      ]);
      return JSON.parse(out.slice(out.indexOf("{"))) as T;
    },
    async componentStatus(node: string | number, component: string): Promise<ComponentStatus> {
      const root = typeof node === "number" ? layout.controlPlane[node].root : rootOf(node);
      return JSON.parse(
        await Deno.readTextFile(join(root, `var/run/static-pods/${component}.json`)),
      );
    },
    async kubeletStatus(node: string): Promise<KubeletStatus> {
      return JSON.parse(await Deno.readTextFile(join(rootOf(node), "var/run/kubelet/status.json")));
    },
    rootOf,
    stop() {
      stopped ??= down({ stateDir, log });
      return stopped;
    },
  };
}

/** Runs `fn` with a fresh cluster and always tears the cluster down afterwards. */
export async function withCluster<T>(
  options: UpOptions,
  fn: (cluster: TestCluster) => Promise<T>,
): Promise<T> {
  const cluster = await startCluster(options);
  try {
    return await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

/** Polls `check` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 60_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}; last: ${last}`);
}

/**
 * Waits until the API server answers /readyz: a run stopped inside a restart step (the API
 * server's own) leaves it restarting, and a run started then exits 1 "Cannot reach the API
 * server" before its first step — as an operator would, the next run waits for it.
 */
export async function apiServerReady(cluster: TestCluster): Promise<void> {
  await eventually(
    "the API server ready",
    () => cluster.kubectl(["get", "--raw", "/readyz"]).then(() => true, () => false),
    120_000,
  );
}
