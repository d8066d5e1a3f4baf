/**
 * Rolls side by side on one control plane: the runbook's `kubectl patch` loop with `kubectl
 * rollout status` per object, a "ceiling" client (one process, 32 PATCHes at once, then one LIST
 * every 250 ms until every rollout is complete), and ca-rotator's roll-workloads with a fixed
 * window (5, the plans' window before the adaptive one) and with the shipped adaptive window
 * (from 1 up to 20) — each round restarts every workload, the methods taking turns. The API
 * requests ca-rotator made come from the API server's own `apiserver_request_total`. Then a
 * failure injected mid-roll: Deployments in the middle of the roll order that never become
 * available; the adaptive roll stops, and the bench prints how many rollouts were in flight.
 * @module
 */
import type { TestCluster } from "../test/cluster/harness.ts";
import { readRequestTotals, requestDelta } from "../test/cluster/api_metrics.ts";
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { mapLimit } from "../src/kubelet/mod.ts";
import { LayoutSchema } from "../src/plan/layout.ts";
import type { StepContext } from "../src/engine/step.ts";
import { rollWorkloads, sortForRoll } from "../src/steps/roll_workloads.ts";
import { ROLLED_BY_ANNOTATION } from "../src/steps/_annotations.ts";
import type { WindowMode } from "../src/plan/window.ts";
import { rolloutStatus } from "../src/steps/_rollout_status.ts";
import { median, note } from "./_measure.ts";

/** What the roll bench creates and how often it rolls. */
export interface RollBenchOptions {
  readonly deployments: number;
  readonly namespaces: number;
  readonly daemonSets: number;
  readonly repeats: number;
  /** The fixed window (the plans' before the adaptive one). */
  readonly fixedWindow: number;
  /** The adaptive window's maximum (plans/kubeadm.yaml's `workloads.batchSize`). */
  readonly adaptiveMax: number;
  /** Deployments made never available mid-roll for the failure run (0: no failure run). */
  readonly injectedFailures: number;
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
  /** The adaptive window: the largest size it reached in each run. */
  readonly peakWindows?: number[];
}

/** The failure injected mid-roll: where the adaptive roll stopped. */
export interface RollFailureResult {
  /** Position (1-based) of the first never-available Deployment in the roll order. */
  readonly firstBrokenAt: number;
  readonly broken: number;
  /** From the error: rollouts in flight when new starts stopped, and the window's size then. */
  readonly inFlightAtStop: number;
  readonly windowAtStop: number;
  /** The workloads the roll annotated (started), of all. */
  readonly started: number;
  readonly notStarted: number;
  readonly seconds: number;
  /** Every size the window took, in order. */
  readonly windowSizes: number[];
  readonly error: string;
}

/** The roll bench's figures. */
export interface RollResults {
  readonly workloads: number;
  readonly deployments: number;
  readonly daemonSets: number;
  readonly methods: RollMethodResult[];
  readonly failure?: RollFailureResult;
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

/** A roll-workloads window: fixed at `size`, or adaptive from 1 up to `size`. */
interface BenchWindow {
  readonly mode: WindowMode;
  readonly size: number;
}

function stepContext(
  api: KubeClusterApi,
  stepId: string,
  window: BenchWindow,
  windowSizes: number[],
  timeoutSeconds = 900,
): StepContext {
  const quiet = {
    info: (message: string) => {
      const resized = message.match(/^window \d+ → (\d+): /);
      if (resized) windowSizes.push(Number(resized[1]));
    },
    warn: (message: string) => note(`ca-rotator: ${message}`),
  };
  return {
    stepId,
    dryRun: false,
    layout: LayoutSchema.parse({ preset: "kubeadm" }),
    workloads: {
      kinds: ["Deployment", "DaemonSet"],
      namespaces: { include: [`${NAMESPACE_PREFIX}*`], exclude: [] },
      batchSize: window.size,
      window: window.mode,
      timeoutSeconds,
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

/** ca-rotator's roll-workloads (observe, diff, apply: every rollout awaited) in `window`. */
async function caRotator(api: KubeClusterApi, window: BenchWindow, run: string) {
  const windowSizes = [window.mode === "adaptive" ? 1 : window.size];
  const ctx = stepContext(api, `bench-${run}`, window, windowSizes);
  const step = { id: ctx.stepId, phase: "trust" as const, kind: "roll-workloads" as const };
  const started = performance.now();
  const changes = rollWorkloads.diff(await rollWorkloads.observe(ctx, step), step);
  await rollWorkloads.apply(ctx, step, changes);
  return {
    ms: performance.now() - started,
    changes: changes.length,
    peakWindow: Math.max(...windowSizes),
  };
}

/** The failure run's rollout timeout: the never-available Deployments fail at it. */
const FAILURE_TIMEOUT_SECONDS = 120;

/**
 * Makes `count` Deployments from the middle of the roll order never available (no node matches
 * their pods, and the default progress deadline of 600 s: nothing signals until the step's own
 * timeout, {@link FAILURE_TIMEOUT_SECONDS}), rolls with the adaptive window and reports where it
 * stopped: the in-flight count and window size the error names, and what the cluster shows
 * started (annotated by the step). The window shrinks at each of them once it is overdue.
 */
async function injectedFailure(
  api: KubeClusterApi,
  workloads: readonly Workload[],
  window: BenchWindow,
  count: number,
): Promise<RollFailureResult> {
  const order = sortForRoll(workloads, { order: [], kinds: ["Deployment", "DaemonSet"] });
  const middle = Math.floor(order.length / 2);
  const broken = order.slice(middle).filter((w) => w.kind === "Deployment").slice(0, count);
  for (const w of broken) {
    await api.patch({ apiVersion: "apps/v1", kind: w.kind, namespace: w.namespace, name: w.name }, {
      spec: {
        template: { spec: { nodeSelector: { "bench.ca-rotator.dev/no-such-node": "true" } } },
      },
    });
  }
  const windowSizes = [1];
  const ctx = stepContext(
    api,
    `bench-failure-${Date.now()}`,
    window,
    windowSizes,
    FAILURE_TIMEOUT_SECONDS,
  );
  const step = { id: ctx.stepId, phase: "trust" as const, kind: "roll-workloads" as const };
  const started = performance.now();
  const changes = rollWorkloads.diff(await rollWorkloads.observe(ctx, step), step);
  const error = await rollWorkloads.apply(ctx, step, changes).then(
    () => undefined,
    (error: Error) => error,
  );
  const ms = performance.now() - started;
  if (!error) throw new Error("the roll with never-available Deployments completed");
  const stop = error.message.match(/stopped new starts with (\d+) in flight \(window (\d+)\)/);
  if (!stop) throw new Error(`the roll failed without stopping: ${error.message}`);
  let annotated = 0;
  for (const kind of ["Deployment", "DaemonSet"] as const) {
    await api.listEach("apps/v1", kind, {}, (object) => {
      const annotations =
        (object.spec as { template?: { metadata?: { annotations?: Record<string, string> } } })
          ?.template?.metadata?.annotations ?? {};
      if (annotations[ROLLED_BY_ANNOTATION] === ctx.stepId) annotated++;
    });
  }
  // healthy again, so the namespaces delete cleanly
  for (const w of broken) {
    await api.patch({ apiVersion: "apps/v1", kind: w.kind, namespace: w.namespace, name: w.name }, {
      spec: { template: { spec: { nodeSelector: null } } },
    });
  }
  return {
    firstBrokenAt: order.indexOf(broken[0]) + 1,
    broken: broken.length,
    inFlightAtStop: Number(stop[1]),
    windowAtStop: Number(stop[2]),
    started: annotated,
    notStarted: workloads.length - annotated,
    seconds: ms / 1000,
    windowSizes,
    error: error.message.split("\n")[0],
  };
}

/**
 * A client for one method's run, its connections opened before the clock starts: 32 reads at
 * once, each retried once (a connection the API server closed while the runbook ran minutes
 * without this client fails once: "other side closed").
 */
async function freshClient(cluster: TestCluster): Promise<KubeClusterApi> {
  const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
  const read = () => api.read({ apiVersion: "v1", kind: "Namespace", name: "default" });
  await mapLimit(Array.from({ length: 32 }), 32, () => read().catch(read));
  return api;
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
  const windows: BenchWindow[] = [
    { mode: "fixed", size: options.fixedWindow },
    { mode: "adaptive", size: options.adaptiveMax },
  ];
  const methods = [
    "runbook: kubectl patch loop + rollout status",
    "ceiling: 32 concurrent PATCHes, then wait",
    `ca-rotator roll-workloads, fixed window ${options.fixedWindow} (before)`,
    `ca-rotator roll-workloads, adaptive window 1 → at most ${options.adaptiveMax} (shipped)`,
  ];
  const runs = new Map<
    string,
    { ms: number; patchMs?: number; requests?: Record<string, number>; peakWindow?: number }[]
  >(
    methods.map((method) => [method, []]),
  );
  for (let round = 1; round <= options.repeats; round++) {
    for (const [index, method] of methods.entries()) {
      const run = `r${round}-m${index}-${Date.now()}`;
      note(`rolls: round ${round}/${options.repeats}: ${method}`);
      if (index === 0) runs.get(method)!.push(await runbook(cluster, workloads, run));
      else if (index === 1) {
        runs.get(method)!.push(await ceiling(await freshClient(cluster), workloads, run));
      } else {
        const client = await freshClient(cluster);
        const before = await readRequestTotals(cluster.kubectl);
        const result = await caRotator(client, windows[index - 2], run);
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
        runs.get(method)!.push({
          ms: result.ms,
          requests,
          ...(index === 3 ? { peakWindow: result.peakWindow } : {}),
        });
      }
      note(`rolls: ${method}: ${(runs.get(method)!.at(-1)!.ms / 1000).toFixed(1)} s`);
    }
  }
  let failure: RollFailureResult | undefined;
  if (options.injectedFailures > 0) {
    note(
      `rolls: ${options.injectedFailures} Deployments never available mid-roll, adaptive window`,
    );
    failure = await injectedFailure(
      await freshClient(cluster),
      workloads,
      windows[1],
      options.injectedFailures,
    );
    note(
      `rolls: stopped after ${failure.seconds.toFixed(1)} s with ${failure.inFlightAtStop} in ` +
        `flight (window ${failure.windowAtStop}); ${failure.started} started, ` +
        `${failure.notStarted} not started`,
    );
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
        ...(each.some((run) => run.peakWindow !== undefined)
          ? { peakWindows: each.map((run) => run.peakWindow ?? 0) }
          : {}),
      };
    }),
    ...(failure ? { failure } : {}),
  };
}
