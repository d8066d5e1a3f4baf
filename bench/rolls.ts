/**
 * Rolls side by side on one control plane: the runbook's `kubectl patch` loop with `kubectl
 * rollout status` per object, a "ceiling" client (one process, 32 PATCHes at once, then one LIST
 * every 250 ms until every rollout is complete), and ca-rotator's roll-workloads at the shipped
 * window and at a high one — each round restarts every workload, the methods taking turns. The
 * API requests ca-rotator made come from the API server's own `apiserver_request_total`.
 * @module
 */
import type { TestCluster } from "../test/cluster/harness.ts";
import { readRequestTotals, requestDelta } from "../test/cluster/api_metrics.ts";
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { mapLimit } from "../src/kubelet/mod.ts";
import { LayoutSchema } from "../src/plan/layout.ts";
import type { StepContext } from "../src/engine/step.ts";
import { rollWorkloads } from "../src/steps/roll_workloads.ts";
import { rolloutStatus } from "../src/steps/_rollout_status.ts";
import { median, note } from "./_measure.ts";

/** What the roll bench creates and how often it rolls. */
export interface RollBenchOptions {
  readonly deployments: number;
  readonly namespaces: number;
  readonly daemonSets: number;
  readonly repeats: number;
  /** The shipped window (plans/kubeadm.yaml) and a high one. */
  readonly windows: readonly [number, number];
}

/** One method's runs. */
export interface RollMethodResult {
  readonly method: string;
  readonly runsMs: number[];
  readonly medianMs: number;
  /** The runbook and the ceiling: how long the PATCHes alone took (median). */
  readonly patchMedianMs?: number;
  /** ca-rotator: its requests of Deployments and DaemonSets, by verb (median run). */
  readonly requests?: Record<string, number>;
  readonly requestsPerWorkload?: number;
}

/** The roll bench's figures. */
export interface RollResults {
  readonly workloads: number;
  readonly deployments: number;
  readonly daemonSets: number;
  readonly methods: RollMethodResult[];
}

interface Workload {
  readonly kind: "Deployment" | "DaemonSet";
  readonly namespace: string;
  readonly name: string;
}

const NAMESPACE_PREFIX = "roll-";

function manifests(options: RollBenchOptions): { list: string; workloads: Workload[] } {
  const namespaces = Array.from(
    { length: options.namespaces },
    (_, j) => `${NAMESPACE_PREFIX}${j}`,
  );
  const items: unknown[] = namespaces.map((name) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  }));
  const workloads: Workload[] = [];
  const template = (app: string) => ({
    metadata: { labels: { app } },
    spec: { containers: [{ name: "app", image: `registry.example/${app}:1` }] },
  });
  for (let i = 0; i < options.deployments; i++) {
    const name = `web-${i}`;
    const namespace = namespaces[i % namespaces.length];
    workloads.push({ kind: "Deployment", namespace, name });
    items.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name) },
    });
  }
  for (let i = 0; i < options.daemonSets; i++) {
    const name = `agent-${i}`;
    const namespace = namespaces[i % namespaces.length];
    workloads.push({ kind: "DaemonSet", namespace, name });
    items.push({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name, namespace },
      spec: { selector: { matchLabels: { app: name } }, template: template(name) },
    });
  }
  return { list: JSON.stringify({ apiVersion: "v1", kind: "List", items }), workloads };
}

const resourceOf = (workload: Workload) =>
  workload.kind === "Deployment" ? "deployment" : "daemonset";

/** Polls one LIST per kind every 250 ms until every workload's rollout is complete. */
async function waitAllComplete(
  api: KubeClusterApi,
  workloads: readonly Workload[],
  timeoutMs = 900_000,
): Promise<void> {
  const wanted = new Set(workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending = 0;
    for (const kind of ["Deployment", "DaemonSet"] as const) {
      await api.listEach("apps/v1", kind, {}, (object) => {
        const key = `${kind}/${object.metadata?.namespace}/${object.metadata?.name}`;
        if (wanted.has(key) && rolloutStatus(kind, object).state !== "complete") pending++;
      });
    }
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending} rollouts not complete in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const restartPatch = (value: string) => ({
  spec: { template: { metadata: { annotations: { "bench.ca-rotator.dev/restart": value } } } },
});

/** The runbook: one `kubectl patch` per object, then `kubectl rollout status` per object. */
async function runbook(cluster: TestCluster, workloads: readonly Workload[], run: string) {
  const started = performance.now();
  for (const w of workloads) {
    await cluster.kubectl([
      "-n",
      w.namespace,
      "patch",
      `${resourceOf(w)}/${w.name}`,
      "--type=merge",
      "-p",
      JSON.stringify(restartPatch(run)),
    ]);
  }
  const patched = performance.now();
  for (const w of workloads) {
    await cluster.kubectl([
      "-n",
      w.namespace,
      "rollout",
      "status",
      `${resourceOf(w)}/${w.name}`,
      "--timeout=600s",
    ]);
  }
  return { ms: performance.now() - started, patchMs: patched - started };
}

/** The ceiling: 32 PATCHes at once from one process, then wait for all. */
async function ceiling(api: KubeClusterApi, workloads: readonly Workload[], run: string) {
  const started = performance.now();
  await mapLimit(workloads, 32, (w) =>
    api.patch(
      { apiVersion: "apps/v1", kind: w.kind, namespace: w.namespace, name: w.name },
      restartPatch(run),
    ));
  const patched = performance.now();
  await waitAllComplete(api, workloads);
  return { ms: performance.now() - started, patchMs: patched - started };
}

function stepContext(api: KubeClusterApi, stepId: string, window: number): StepContext {
  const quiet = { info: () => {}, warn: (message: string) => note(`ca-rotator: ${message}`) };
  return {
    stepId,
    dryRun: false,
    layout: LayoutSchema.parse({ preset: "kubeadm" }),
    workloads: {
      kinds: ["Deployment", "DaemonSet"],
      namespaces: { include: [`${NAMESPACE_PREFIX}*`], exclude: [] },
      batchSize: window,
      timeoutSeconds: 900,
      order: [],
    },
    planDir: ".",
    rotationStartedAt: new Date(),
    controlPlane: [],
    workers: [],
    cluster: api,
    cas: {
      get: () => {
        throw new Error("roll-workloads needs no CA material");
      },
      fingerprints: () => ({ cluster: "b".repeat(64) }),
    },
    log: quiet as unknown as StepContext["log"],
    waitFor: () => Promise.resolve(),
    progress: () => {},
  };
}

/** ca-rotator's roll-workloads (observe, diff, apply: every rollout awaited) at `window`. */
async function caRotator(api: KubeClusterApi, window: number, run: string) {
  const ctx = stepContext(api, `bench-${run}`, window);
  const step = { id: ctx.stepId, phase: "trust" as const, kind: "roll-workloads" as const };
  const started = performance.now();
  const changes = rollWorkloads.diff(await rollWorkloads.observe(ctx, step), step);
  await rollWorkloads.apply(ctx, step, changes);
  return { ms: performance.now() - started, changes: changes.length };
}

/** Creates the workloads, rolls them `repeats` times by every method, and removes them. */
export async function benchRolls(
  cluster: TestCluster,
  options: RollBenchOptions,
): Promise<RollResults> {
  const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
  const { list, workloads } = manifests(options);
  note(`rolls: creating ${options.deployments} Deployments and ${options.daemonSets} DaemonSets`);
  await cluster.kubectl(["apply", "-f", "-"], { stdin: list });
  await waitAllComplete(api, workloads);
  const [shipped, high] = options.windows;
  const methods = [
    "runbook: kubectl patch loop + rollout status",
    "ceiling: 32 concurrent PATCHes, then wait",
    `ca-rotator roll-workloads, window ${shipped} (shipped)`,
    `ca-rotator roll-workloads, window ${high}`,
  ];
  const runs = new Map<
    string,
    { ms: number; patchMs?: number; requests?: Record<string, number> }[]
  >(
    methods.map((method) => [method, []]),
  );
  for (let round = 1; round <= options.repeats; round++) {
    for (const [index, method] of methods.entries()) {
      const run = `r${round}-m${index}-${Date.now()}`;
      note(`rolls: round ${round}/${options.repeats}: ${method}`);
      if (index === 0) runs.get(method)!.push(await runbook(cluster, workloads, run));
      else if (index === 1) runs.get(method)!.push(await ceiling(api, workloads, run));
      else {
        const before = await readRequestTotals(cluster.kubectl);
        const result = await caRotator(api, index === 2 ? shipped : high, run);
        const after = await readRequestTotals(cluster.kubectl);
        if (result.changes !== workloads.length) {
          throw new Error(`ca-rotator rolled ${result.changes} of ${workloads.length} workloads`);
        }
        const requests: Record<string, number> = {};
        for (const resource of ["deployments", "daemonsets"]) {
          const delta = requestDelta(before, after, "verb", {
            group: "apps",
            resource,
            subresource: "",
          });
          for (const [verb, count] of Object.entries(delta)) {
            requests[verb] = (requests[verb] ?? 0) + count;
          }
        }
        runs.get(method)!.push({ ms: result.ms, requests });
      }
      note(`rolls: ${method}: ${(runs.get(method)!.at(-1)!.ms / 1000).toFixed(1)} s`);
    }
  }
  note("rolls: removing the roll namespaces");
  await cluster.kubectl([
    "delete",
    "namespace",
    ...Array.from({ length: options.namespaces }, (_, j) => `${NAMESPACE_PREFIX}${j}`),
    "--wait=true",
    "--timeout=300s",
  ]);
  return {
    workloads: workloads.length,
    deployments: options.deployments,
    daemonSets: options.daemonSets,
    methods: methods.map((method) => {
      const each = runs.get(method)!;
      const runsMs = each.map((run) => run.ms);
      const medianMs = median(runsMs);
      const patches = each.flatMap((run) => run.patchMs === undefined ? [] : [run.patchMs]);
      const middle = each.find((run) => run.ms === medianMs) ?? each[0];
      const requests = middle?.requests;
      const perWorkload = requests
        ? Object.entries(requests)
          .filter(([verb]) => verb !== "LIST" && verb !== "WATCH")
          .reduce((sum, [, count]) => sum + count, 0) / workloads.length
        : undefined;
      return {
        method,
        runsMs,
        medianMs,
        ...(patches.length ? { patchMedianMs: median(patches) } : {}),
        ...(requests ? { requests, requestsPerWorkload: perWorkload } : {}),
      };
    }),
  };
}
