/**
 * The runner's nodes at each phase start (`nodesAtPhase`), with a test kind (the engine knows no
 * real kind): a worker that joins during the trust phase is found before the switch, the drift
 * re-check brings it to what the done trust step made, and the switch's step acts on it too. The
 * negative control runs without `nodesAtPhase`: the joined worker is never touched. A hold from
 * `nodesAtPhase` holds the run before anything of the phase changes.
 */
import assert from "node:assert/strict";
import { runPlan, type SharedContext } from "./runner.ts";
import { StepRegistry } from "./registry.ts";
import { memoryProgressStore } from "./progress.ts";
import { memoryPrinter } from "./printer.ts";
import { caMaterialOf } from "./ca_material.ts";
import type { StepContext, StepKind } from "./step.ts";
import type { Change } from "./change.ts";
import { LocalNode } from "../nodes/local.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { Phase } from "../plan/phase.ts";

interface TestStep {
  id: string;
  phase: "trust" | "switch" | "finalize";
  kind: string;
  path: string;
  content: string;
}

/** Writes `step.path` with `step.content` on every worker of the context (re-applied on drift). */
const everyWorker = {
  kind: "write-workers",
  schema: undefined as never,
  undo: { nothing: "a test kind" },
  drift: { reapply: "a test kind: it writes one file per worker" },
  async observe(ctx: StepContext, step: TestStep) {
    return await Promise.all(
      ctx.workers.map(async (node) => ({
        node: node.name,
        current: await node.readFile(step.path),
      })),
    );
  },
  diff(observed: { node: string; current?: string }[], step: TestStep): Change[] {
    return observed.filter((each) => each.current !== step.content).map((each) => ({
      action: each.current === undefined ? "create" as const : "update" as const,
      target: { type: "file" as const, node: each.node, path: step.path },
      before: each.current,
      after: step.content,
    }));
  },
  async apply(ctx: StepContext, step: TestStep, changes: readonly Change[]) {
    for (const change of changes) {
      const node = ctx.workers.find((each) =>
        change.target.type === "file" && each.name === change.target.node
      );
      await node!.writeFile(step.path, change.after!);
    }
  },
  async verify() {},
} as unknown as StepKind;

const STEPS: TestStep[] = [
  { id: "trust-all", phase: "trust", kind: "write-workers", path: "/etc/trust", content: "both\n" },
  {
    id: "switch-all",
    phase: "switch",
    kind: "write-workers",
    path: "/etc/switch",
    content: "new\n",
  },
];

function loaded(stopAfter: string): LoadedPlan {
  return {
    path: "plans/test.yaml",
    plan: { metadata: { name: "test" }, stopAfter, steps: STEPS },
    digest: "plan-digest",
    stepDigests: Object.fromEntries(STEPS.map((step) => [step.id, `digest-${step.id}`])),
  } as unknown as LoadedPlan;
}

async function setup() {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-nodes-" });
  const node = (name: string) =>
    new LocalNode({ name, root: `${root}/${name}`, backupDir: "/var/backup" });
  const [first, joined] = [node("worker-1"), node("worker-2")];
  const context: SharedContext = {
    dryRun: false,
    layout: undefined as never,
    workloads: undefined as never,
    planDir: ".",
    controlPlane: [],
    workers: [first],
    cluster: undefined as unknown as ClusterApi,
    cas: caMaterialOf({}),
  };
  return { first, joined, context, cleanup: () => Deno.remove(root, { recursive: true }) };
}

Deno.test("a worker found at the next phase start is brought to the done steps' state, then the phase's", async () => {
  const env = await setup();
  const asked: Phase[] = [];
  const printer = memoryPrinter();
  const result = await runPlan({
    loaded: loaded("switch"),
    registry: new StepRegistry([everyWorker]),
    store: memoryProgressStore(),
    context: env.context,
    printer,
    recheckDone: true,
    nodesAtPhase: (phase) => {
      asked.push(phase);
      return Promise.resolve({ controlPlane: [], workers: [env.first, env.joined] });
    },
  });
  assert.equal(result.outcome, "done");
  assert.deepEqual(asked, ["switch"], "asked before the switch only (the run's start was checked)");
  assert.equal(await env.joined.readFile("/etc/trust"), "both\n", "caught up with trust");
  assert.equal(await env.joined.readFile("/etc/switch"), "new\n", "and the switch reached it");
  assert.ok(
    printer.lines.some((line) => /drift: \/etc\/trust on worker-2 .*re-applying/.test(line)),
    printer.lines.join("\n"),
  );
  await env.cleanup();
});

Deno.test("negative control: without the nodes at the phase start, the joined worker is never touched", async () => {
  const env = await setup();
  const result = await runPlan({
    loaded: loaded("switch"),
    registry: new StepRegistry([everyWorker]),
    store: memoryProgressStore(),
    context: env.context,
    printer: memoryPrinter(),
    recheckDone: true,
  });
  assert.equal(result.outcome, "done");
  assert.equal(await env.first.readFile("/etc/switch"), "new\n");
  assert.equal(await env.joined.readFile("/etc/trust"), undefined);
  assert.equal(await env.joined.readFile("/etc/switch"), undefined);
  await env.cleanup();
});

Deno.test("a hold from the nodes at the phase start holds the run before the phase", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  const result = await runPlan({
    loaded: loaded("switch"),
    registry: new StepRegistry([everyWorker]),
    store,
    context: env.context,
    printer: memoryPrinter(),
    recheckDone: true,
    nodesAtPhase: () => Promise.resolve({ hold: 'Node "worker-2" cannot be reached' }),
  });
  assert.equal(result.outcome, "gate");
  assert.equal(result.gate, 'Node "worker-2" cannot be reached');
  assert.deepEqual(result.next, { step: "switch-all", phase: "switch" });
  assert.equal(await env.first.readFile("/etc/switch"), undefined, "nothing of the switch ran");
  assert.equal((await store.load())!.steps["switch-all"], undefined);
  await env.cleanup();
});
