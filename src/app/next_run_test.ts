import assert from "node:assert/strict";
import { duration, type PlannedStep, standing } from "./next_run.ts";
import type { StepProgress } from "../engine/progress.ts";

const record = (status: StepProgress["status"], extra: Partial<StepProgress> = {}) => ({
  status,
  attempts: 1,
  digest: "d",
  ...extra,
});

const plan = (records: (StepProgress | undefined)[]): PlannedStep[] =>
  [
    { id: "distribute", phase: "trust" as const, kind: "distribute-ca" },
    { id: "flags", phase: "trust" as const, kind: "set-component-flags" },
    { id: "activate", phase: "switch" as const, kind: "activate-ca" },
    { id: "remove", phase: "finalize" as const, kind: "remove-old-ca" },
  ].map((step, index) => ({ ...step, record: records[index] }));

Deno.test("a fresh rotation starts at its first step", () => {
  const result = standing(plan([]), "trust");
  assert.equal(result.phase, "trust");
  assert.deepEqual(result.phasesDone, []);
  assert.deepEqual(result.next, {
    action: "run",
    step: "distribute",
    stepPhase: "trust",
    message: 'starts at distribute and goes on up to phase "trust"',
  });
});

Deno.test("after trust, the next run waits for stopAfter to move", () => {
  const result = standing(plan([record("done"), record("done")]), "trust");
  assert.equal(result.phase, "switch");
  assert.deepEqual(result.phasesDone, ["trust"]);
  assert.equal(result.next.action, "wait-for-stop-after");
  assert.equal(
    result.next.message,
    'nothing until stopAfter moves to "switch" (it is "trust"); then it starts at activate',
  );
});

Deno.test("a running step says since when it runs", () => {
  const result = standing(
    plan([record("done"), record("running", { startedAt: "2026-11-27T03:00:00.000Z" })]),
    "switch",
    new Date("2026-11-27T03:12:05.000Z"),
  );
  assert.equal(result.next.action, "resume");
  assert.equal(result.next.runningSince, "2026-11-27T03:00:00.000Z");
  assert.match(
    result.next.message,
    /^resumes flags, running for 12m05s \(since 2026-11-27T03:00:00/,
  );
});

Deno.test("a failed step is retried, a gate re-checked, a done plan has nothing left", () => {
  assert.equal(
    standing(plan([record("failed", { attempts: 2 })]), "trust").next.message,
    'retries distribute, which failed (attempt 2), and goes on up to phase "trust"',
  );
  assert.equal(
    standing(plan([record("done"), record("done"), record("blocked")]), "switch")
      .next.action,
    "recheck-gate",
  );
  const done = standing(
    plan([record("done"), record("done"), record("done"), record("done")]),
    "finalize",
  );
  assert.equal(done.phase, "complete");
  assert.deepEqual(done.phasesDone, ["trust", "switch", "finalize"]);
  assert.equal(done.next.action, "none");
});

Deno.test("durations read as kubectl shows ages", () => {
  assert.deepEqual([duration(12_400), duration(185_000), duration(3_725_000)], [
    "12s",
    "3m05s",
    "1h02m",
  ]);
});
