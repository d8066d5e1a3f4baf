import assert from "node:assert/strict";
import { runPlan } from "./runner.ts";
import { StepRegistry } from "./registry.ts";
import { memoryProgressStore } from "./progress.ts";
import { memoryPrinter } from "./printer.ts";
import { caMaterialOf } from "./ca_material.ts";
import { memoryEvents, type RunEvent } from "./events.ts";
import type { StepKind } from "./step.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { SharedContext } from "./runner.ts";
import { GateClosedError } from "./step_error.ts";

/** A kind that restarts a named component, waits for a count to fill up, and may fail. */
interface CountStep {
  id: string;
  phase: "trust" | "switch" | "finalize";
  kind: "count";
  total: number;
  fail?: boolean;
  gate?: boolean;
}

const countKind = {
  kind: "count",
  schema: undefined as never,
  observe: () => Promise.resolve(undefined),
  diff: (_: unknown, step: CountStep) => [{
    action: "restart",
    target: { type: "component", node: "cp-1", component: step.id },
    reason: "test",
  }],
  apply: () => Promise.resolve(),
  async verify(ctx: Parameters<StepKind["verify"]>[0], step: CountStep) {
    if (step.fail) throw new Error("the component did not come back");
    if (step.gate) throw new GateClosedError(step.id, "2 kubelets still on the old CA");
    let ready = 0;
    await ctx.waitFor(
      "the count to fill up",
      () => Promise.resolve({ done: ++ready >= step.total, ready, total: step.total }),
      60_000,
    );
  },
} as unknown as StepKind;

function loaded(steps: CountStep[], stopAfter = "finalize"): LoadedPlan {
  return {
    path: "plans/events.yaml",
    plan: { metadata: { name: "events" }, stopAfter, steps },
    digest: "plan-digest",
    stepDigests: Object.fromEntries(steps.map((step) => [step.id, `digest-${step.id}`])),
  } as unknown as LoadedPlan;
}

const context = (dryRun: boolean): SharedContext => ({
  dryRun,
  layout: undefined as never,
  workloads: undefined as never,
  planDir: ".",
  controlPlane: [],
  workers: [],
  cluster: undefined as unknown as ClusterApi,
  cas: caMaterialOf({}),
});

const shape = (event: RunEvent) => "step" in event ? `${event.type} ${event.step}` : event.type;

const plan: CountStep[] = [
  { id: "one", phase: "trust", kind: "count", total: 2 },
  { id: "two", phase: "trust", kind: "count", total: 1 },
  { id: "three", phase: "switch", kind: "count", total: 1 },
];

Deno.test("the runner emits run, step, change, wait and summary events in order", async () => {
  const sink = memoryEvents();
  const result = await runPlan({
    loaded: loaded(plan, "trust"),
    registry: new StepRegistry().register(countKind),
    store: memoryProgressStore(),
    context: context(false),
    printer: memoryPrinter(),
    events: sink,
  });
  assert.deepEqual(sink.events.map(shape), [
    "RunStarted",
    "StepStarted one",
    "ChangeApplied one",
    "Waiting one",
    "Waiting one",
    "StepDone one",
    "StepStarted two",
    "ChangeApplied two",
    "Waiting two",
    "StepDone two",
    "StoppedAfterPhase",
    "RunFinished",
  ]);
  const counted = sink.events.filter((event) => event.type === "Waiting" && event.step === "one");
  assert.deepEqual(counted.map((event) => "ready" in event ? event.ready : undefined), [
    undefined,
    1,
  ]);
  const last = sink.events.at(-1)!;
  assert.deepEqual(last.type === "RunFinished" && [last.outcome, last.changes, last.next], [
    "done",
    { restart: 2 },
    { step: "three", phase: "switch" },
  ]);
  assert.deepEqual(result.next, { step: "three", phase: "switch" });
});

Deno.test("a failed step emits StepFailed with its id and stage, then RunFinished", async () => {
  const sink = memoryEvents();
  await assert.rejects(() =>
    runPlan({
      loaded: loaded([plan[0], { ...plan[1], fail: true }]),
      registry: new StepRegistry().register(countKind),
      store: memoryProgressStore(),
      context: context(false),
      printer: memoryPrinter(),
      events: sink,
    })
  );
  const failed = sink.events.find((event) => event.type === "StepFailed");
  assert.deepEqual(failed && { ...failed }, {
    type: "StepFailed",
    step: "two",
    phase: "trust",
    stage: "verify",
    error: "[two] verify: the component did not come back",
  });
  const last = sink.events.at(-1)!;
  assert.deepEqual(last.type === "RunFinished" && [last.outcome, last.next], [
    "failed",
    { step: "two", phase: "trust" },
  ]);
});

Deno.test("a dry run plans every phase and waits for nothing", async () => {
  const sink = memoryEvents();
  await runPlan({
    loaded: loaded(plan, "trust"),
    registry: new StepRegistry().register(countKind),
    store: memoryProgressStore(),
    context: context(true),
    printer: memoryPrinter(),
    events: sink,
  });
  assert.equal(sink.events.filter((event) => event.type === "StepDone").length, 3);
  assert.equal(sink.events.filter((event) => event.type === "Waiting").length, 0);
  const last = sink.events.at(-1)!;
  assert.deepEqual(last.type === "RunFinished" && [last.dryRun, last.next], [
    true,
    { step: "one", phase: "trust" },
  ]);
});

Deno.test("a gate emits GateReached and the run finishes with outcome gate", async () => {
  const sink = memoryEvents();
  const result = await runPlan({
    loaded: loaded([plan[0], { ...plan[1], gate: true }, plan[2]]),
    registry: new StepRegistry().register(countKind),
    store: memoryProgressStore(),
    context: context(false),
    printer: memoryPrinter(),
    events: sink,
  });
  assert.equal(result.outcome, "gate");
  assert.deepEqual(sink.events.map(shape).slice(-3), [
    "ChangeApplied two",
    "GateReached two",
    "RunFinished",
  ]);
  const gate = sink.events.find((event) => event.type === "GateReached");
  assert.equal(
    gate?.type === "GateReached" && gate.message,
    "[two] gate closed: 2 kubelets still on the old CA",
  );
  const last = sink.events.at(-1)!;
  assert.deepEqual(last.type === "RunFinished" && [last.outcome, last.next], [
    "gate",
    { step: "two", phase: "trust" },
  ]);
});
