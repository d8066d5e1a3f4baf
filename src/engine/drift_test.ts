import assert from "node:assert/strict";
import type { Change } from "./change.ts";
import {
  driftDeclarationProblem,
  driftHoldMessage,
  driftLine,
  driftOf,
  type DriftPolicy,
  stepsToReapply,
} from "./drift.ts";
import type { StepKind } from "./step.ts";

const file = (path: string, before: string | undefined, after: string | undefined): Change => ({
  action: before === undefined ? "create" : "update",
  target: { type: "file", node: "cp-0", path },
  before,
  after,
  reason: `${path} → ${after}`,
});

Deno.test("driftOf: a done step whose replay changes a file is drift, named with the step", () => {
  const findings = driftOf([
    {
      stepId: "kubeconfigs-trust-bundle",
      action: "reapply",
      changes: [file("/a.conf", "old", "bundle")],
    },
    { stepId: "verify-trust", action: "reapply", changes: [] },
  ]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].name, "cp-0:/a.conf");
  assert.deepEqual(findings[0].steps, ["kubeconfigs-trust-bundle"]);
  assert.equal(findings[0].action, "reapply");
  assert.equal(
    driftLine(findings[0], "re-applied"),
    "drift: /a.conf on cp-0 is no longer what step kubeconfigs-trust-bundle made (/a.conf → bundle); re-applied",
  );
});

Deno.test("driftOf: nothing to replay, or restarts and rolls only, is no drift", () => {
  assert.deepEqual(driftOf([]), []);
  assert.deepEqual(
    driftOf([{
      stepId: "roll",
      action: "reapply",
      changes: [
        { action: "restart", target: { type: "component", node: "cp-0", component: "kubelet" } },
        {
          action: "roll",
          target: { type: "workload", kind: "Deployment", namespace: "a", name: "b" },
        },
      ],
    }]),
    [],
  );
});

Deno.test("driftOf: a later done step that rewrites the file supersedes the earlier one", () => {
  // bundle then new: the file holds what the later step made, so the replay's net change is none.
  assert.deepEqual(
    driftOf([
      { stepId: "trust-bundle", action: "reapply", changes: [file("/a.conf", "new", "bundle")] },
      { stepId: "trust-new", action: "reapply", changes: [file("/a.conf", "bundle", "new")] },
    ]),
    [],
  );
  // The file back at what only the earlier step made: drift, with both steps, in plan order.
  const [finding] = driftOf([
    { stepId: "trust-bundle", action: "reapply", changes: [] },
    { stepId: "trust-new", action: "reapply", changes: [file("/a.conf", "bundle", "new")] },
  ]);
  assert.deepEqual(finding.steps, ["trust-new"]);
  const chain = driftOf([
    { stepId: "trust-bundle", action: "reapply", changes: [file("/a.conf", "old", "bundle")] },
    { stepId: "trust-new", action: "reapply", changes: [file("/a.conf", "bundle", "new")] },
  ]);
  assert.deepEqual(chain[0].steps, ["trust-bundle", "trust-new"]);
  assert.deepEqual(stepsToReapply(chain, ["other", "trust-bundle", "x", "trust-new"]), [
    "trust-bundle",
    "trust-new",
  ]);
});

Deno.test("driftOf: a finding holds when any step that made it holds", () => {
  const findings = driftOf([
    { stepId: "activate", action: "hold", changes: [file("/ca.crt", "someone's", "new")] },
    { stepId: "kubeconfigs", action: "reapply", changes: [file("/b.conf", "old", "bundle")] },
  ]);
  assert.deepEqual(findings.map((finding) => finding.action), ["hold", "reapply"]);
  assert.equal(
    driftHoldMessage(findings),
    "drift that ca-rotator does not re-apply (nothing else was changed): /ca.crt on cp-0 " +
      "(made by activate): restore what those steps made (or roll back), then run again",
  );
});

Deno.test("driftOf: objects are named by kind, namespace and name", () => {
  const [finding] = driftOf([{
    stepId: "cluster-info-new",
    action: "reapply",
    changes: [{
      action: "update",
      target: {
        type: "object",
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "kube-public",
        name: "cluster-info",
      },
      before: "a",
      after: "b",
    }],
  }]);
  assert.match(
    driftLine(finding, "re-applied"),
    /^drift: ConfigMap\/kube-public\/cluster-info is no longer/,
  );
});

Deno.test("every drift declaration needs a reason; a kind without one is found", () => {
  const kind = (drift?: DriftPolicy) =>
    ({ kind: "k", ...(drift ? { drift } : {}) }) as unknown as StepKind;
  assert.equal(driftDeclarationProblem(kind({ reapply: "safe" })), undefined);
  assert.equal(driftDeclarationProblem(kind({ none: "waits" })), undefined);
  assert.match(driftDeclarationProblem(kind()) ?? "", /declares no drift policy/);
  assert.match(driftDeclarationProblem(kind({ hold: " " })) ?? "", /gives no reason/);
});

Deno.test("driftOf: what a step the run stopped in would still write is its own work, not drift", () => {
  // kubeconfigs-trust-new was killed after it wrote /a.conf: the done trust-bundle's replay
  // would put the bundle back, the pending step's replay makes it new again — not drift — and
  // /b.conf, which it has not reached yet, is its work left, not drift either.
  assert.deepEqual(
    driftOf([
      { stepId: "trust-bundle", action: "reapply", changes: [file("/a.conf", "new", "bundle")] },
      {
        stepId: "trust-new",
        action: "reapply",
        pending: true,
        changes: [file("/a.conf", "bundle", "new"), file("/b.conf", "bundle", "new")],
      },
    ]),
    [],
  );
  // Negative control: without the pending step, /a.conf looks drifted.
  assert.equal(
    driftOf([
      { stepId: "trust-bundle", action: "reapply", changes: [file("/a.conf", "new", "bundle")] },
    ]).length,
    1,
  );
});
