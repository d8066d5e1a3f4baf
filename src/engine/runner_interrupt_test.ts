import assert from "node:assert/strict";
import { runPlan, type SharedContext } from "./runner.ts";
import { StepRegistry } from "./registry.ts";
import { memoryProgressStore } from "./progress.ts";
import { memoryPrinter } from "./printer.ts";
import { caMaterialOf } from "./ca_material.ts";
import { memoryEvents } from "./events.ts";
import type { StepKind } from "./step.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { InterruptedError } from "./step_error.ts";

/** A kind that records its applies and waits until `release` resolves (or for ever). */
interface WaitStep {
  id: string;
  phase: "trust";
  kind: "wait";
}

function waitKind(applied: string[], waiting: () => void): StepKind {
  return {
    kind: "wait",
    schema: undefined as never,
    observe: () => Promise.resolve(undefined),
    diff: (_: unknown, step: WaitStep) => [{
      action: "restart",
      target: { type: "component", node: "cp-1", component: step.id },
      reason: "test",
    }],
    apply: (_ctx: unknown, step: WaitStep) => {
      applied.push(step.id);
      return Promise.resolve();
    },
    verify: (ctx: Parameters<StepKind["verify"]>[0]) =>
      ctx.waitFor("something that never happens", () => {
        waiting();
        return Promise.resolve(false);
      }, 600_000),
  } as unknown as StepKind;
}

const steps: WaitStep[] = [
  { id: "first", phase: "trust", kind: "wait" },
  { id: "second", phase: "trust", kind: "wait" },
];
const loaded = {
  path: "plans/interrupt.yaml",
  plan: { metadata: { name: "interrupt" }, stopAfter: "trust", steps },
  digest: "plan-digest",
  stepDigests: { first: "d1", second: "d2" },
} as unknown as LoadedPlan;
const context: SharedContext = {
  dryRun: false,
  layout: undefined as never,
  workloads: undefined as never,
  planDir: ".",
  controlPlane: [],
  workers: [],
  cluster: undefined as unknown as ClusterApi,
  cas: caMaterialOf({}),
};

Deno.test("an abort while a step waits stops the wait at once and records the step interrupted", async () => {
  const controller = new AbortController();
  const applied: string[] = [];
  const store = memoryProgressStore();
  const sink = memoryEvents();
  const began = Date.now();
  const error = await runPlan({
    loaded,
    registry: new StepRegistry().register(waitKind(applied, () => {
      if (!controller.signal.aborted) {
        setTimeout(() => controller.abort(new Error("interrupted by SIGTERM")), 50);
      }
    })),
    store,
    context,
    printer: memoryPrinter(),
    events: sink,
    signal: controller.signal,
  }).catch((error) => error);
  assert.ok(error instanceof InterruptedError, String(error));
  assert.equal(error.stepId, "first");
  assert.equal(error.message, "[first] interrupted: interrupted by SIGTERM");
  assert.ok(Date.now() - began < 5_000, "the wait's back-off sleep ended at the abort");
  assert.deepEqual(applied, ["first"], "the second step never started");
  const record = (await store.load())!.steps;
  assert.equal(record.first.status, "interrupted");
  assert.equal(record.first.error, "interrupted by SIGTERM");
  assert.equal(record.second, undefined);
  const types = sink.events.map((event) => event.type);
  assert.deepEqual(types.slice(-2), ["StepInterrupted", "RunFinished"]);
  const last = sink.events.at(-1)!;
  assert.equal(last.type === "RunFinished" && last.outcome, "interrupted");
});

Deno.test("an abort before a step starts leaves every step as it was", async () => {
  const controller = new AbortController();
  controller.abort(new Error("lost the rotation lock"));
  const applied: string[] = [];
  const store = memoryProgressStore();
  await assert.rejects(
    () =>
      runPlan({
        loaded,
        registry: new StepRegistry().register(waitKind(applied, () => {})),
        store,
        context,
        printer: memoryPrinter(),
        signal: controller.signal,
      }),
    (error) => error instanceof InterruptedError && error.stepId === undefined,
  );
  assert.deepEqual(applied, []);
  assert.deepEqual((await store.load())?.steps ?? {}, {});
});
