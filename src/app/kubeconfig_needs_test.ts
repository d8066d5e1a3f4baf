import assert from "node:assert/strict";
import type { Progress, StepProgress } from "../engine/progress.ts";
import type { Phase } from "../plan/phase.ts";
import { kubeconfigAdvice, kubeconfigNeeds } from "./kubeconfig_needs.ts";
import type { PlannedStep } from "./next_run.ts";

const PLAN: [string, Phase][] = [
  ["distribute", "trust"],
  ["bundle", "trust"],
  ["reissue", "switch"],
  ["signer", "switch"],
  ["gate", "finalize"],
  ["remove-old", "finalize"],
];

const record = (status: StepProgress["status"]): StepProgress => ({
  status,
  attempts: 1,
  digest: "d",
});

/** The plan's steps with the first `done` done and the next one `next` (if given). */
function at(done: number, next?: StepProgress["status"]) {
  const steps: PlannedStep[] = PLAN.map(([id, phase], index) => ({
    id,
    phase,
    kind: "k",
    ...(index < done
      ? { record: record("done") }
      : index === done && next
      ? { record: record(next) }
      : {}),
  }));
  const progress: Progress = {
    plan: "p",
    planDigest: "sha256:x",
    caFingerprints: { cluster: "aa", frontProxy: "bb" },
    stopAfter: "finalize",
    steps: Object.fromEntries(steps.filter((s) => s.record).map((s) => [s.id, s.record!])),
  };
  return { steps, progress };
}

Deno.test("kubeconfigNeeds: the old CA, the bundle through the switch, the new CA from finalize", () => {
  const cases: [number, StepProgress["status"] | undefined, string, string, string][] = [
    [0, undefined, "trust", "bundle", "old"], // the record exists with the new CA's fingerprint
    [1, "running", "trust", "bundle", "old"],
    [2, undefined, "trust", "bundle", "old"],
    [3, "running", "trust", "bundle", "either"],
    [4, undefined, "switched", "bundle", "new"],
    [4, "blocked", "finalize", "new", "new"],
    [5, "running", "finalize", "new", "new"],
    [6, undefined, "complete", "new", "new"],
  ];
  for (const [done, next, stage, caData, signer] of cases) {
    const { steps, progress } = at(done, next);
    const needs = kubeconfigNeeds(steps, progress);
    assert.deepEqual(
      [needs.stage, needs.caData, needs.signer],
      [stage, caData, signer],
      `${done} done, next ${next}`,
    );
  }
  assert.equal(kubeconfigNeeds(at(6).steps, at(6).progress).oldClientCertsAccepted, false);
  assert.equal(kubeconfigNeeds(at(5).steps, at(5).progress).oldClientCertsAccepted, true);
});

Deno.test("kubeconfigNeeds: before a rotation, and after a finished rollback, the old CA", () => {
  const { steps, progress } = at(0);
  assert.equal(kubeconfigNeeds(steps, undefined).stage, "before");
  assert.equal(kubeconfigNeeds(steps, undefined).caData, "old");
  assert.equal(kubeconfigNeeds(steps, { ...progress, caFingerprints: {} }).caData, "old");
  const rolledBack = {
    ...progress,
    caFingerprints: {},
    rollback: { startedAt: "t0", finishedAt: "t1", undid: ["distribute"] },
  };
  assert.deepEqual(
    [kubeconfigNeeds(steps, rolledBack).stage, kubeconfigNeeds(steps, rolledBack).caData],
    ["rolled-back", "old"],
  );
  const rollingBack = { ...at(3).progress, rollback: { startedAt: "t0", undid: [] } };
  assert.equal(kubeconfigNeeds(at(3).steps, rollingBack).caData, "bundle", "safe both ways");
});

Deno.test("kubeconfigAdvice: what status says at each stage", () => {
  const advice = (done: number, next?: StepProgress["status"]) =>
    kubeconfigAdvice(kubeconfigNeeds(at(done, next).steps, at(done, next).progress), "CMD");
  assert.match(
    advice(1),
    /^Kubeconfigs: before the switch, bring every kubeconfig's CA to the bundle of old and new CA \(CMD --in FILE --out FILE\); after the switch and before finalize, renew/,
  );
  assert.match(
    advice(4),
    /^Kubeconfigs: before finalize, renew every client certificate of the old CA \(CMD --in FILE --out FILE --renew-client\)/,
  );
  assert.match(
    advice(5, "running"),
    /new CA alone .*stop working when finalize removes the old CA/,
  );
  assert.match(advice(6), /new CA alone .*no longer authenticate/);
});
