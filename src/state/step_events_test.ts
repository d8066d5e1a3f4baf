import assert from "node:assert/strict";
import { kubernetesEventOf } from "./step_events.ts";

Deno.test("each step transition is one Kubernetes Event; waits and changes are not", () => {
  assert.deepEqual(
    kubernetesEventOf({
      type: "StepStarted",
      step: "a",
      phase: "trust",
      stepKind: "distribute-ca",
      attempt: 2,
    }),
    {
      reason: "StepStarted",
      type: "Normal",
      message: "[a] started distribute-ca (phase trust, attempt 2)",
    },
  );
  assert.equal(
    kubernetesEventOf({
      type: "StepDone",
      step: "a",
      phase: "trust",
      changes: 3,
      durationSeconds: 1.5,
    })?.message,
    "[a] done: 3 changes in 1.5s",
  );
  assert.equal(
    kubernetesEventOf({
      type: "StepFailed",
      step: "a",
      phase: "trust",
      stage: "apply",
      error: "[a] apply: x",
    })?.type,
    "Warning",
  );
  assert.equal(
    kubernetesEventOf({
      type: "GateReached",
      step: "g",
      phase: "switch",
      message: "[g] gate closed: 2 pods",
    })?.reason,
    "GateReached",
  );
  assert.equal(
    kubernetesEventOf({
      type: "RunFinished",
      outcome: "done",
      dryRun: false,
      changes: {},
      stepsChanged: 0,
      stepsSkipped: 2,
      next: { step: "b", phase: "switch" },
      durationSeconds: 3,
    })?.message,
    "run finished; next: b (phase switch)",
  );
  assert.equal(
    kubernetesEventOf({
      type: "Waiting",
      step: "a",
      description: "x",
      since: "",
      deadline: "",
      elapsedSeconds: 1,
    }),
    undefined,
  );
  assert.equal(
    kubernetesEventOf({
      type: "ChangeApplied",
      step: "a",
      action: "update",
      targetType: "file",
      target: "cp-1:/x",
    }),
    undefined,
  );
});
