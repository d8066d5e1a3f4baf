import assert from "node:assert/strict";
import { rollbackProcedure } from "./procedure.ts";
import type { Progress, StepProgress } from "../engine/progress.ts";
import { loadPlan } from "../app/plan.ts";
import { InputError } from "../plan/input_error.ts";
import { shippedPlan } from "../plan/_test_plans.ts";

const plan = (await loadPlan(shippedPlan("kubeadm.yaml"), {})).plan;
const until = new Date("2026-01-01T01:00:00.000Z");

function progress(steps: Record<string, Partial<StepProgress>>): Progress {
  return {
    plan: "kubeadm-ha",
    planDigest: "sha256:x",
    caFingerprints: { cluster: "aa", frontProxy: "bb" },
    stopAfter: "switch",
    steps: Object.fromEntries(
      Object.entries(steps).map((
        [id, record],
      ) => [id, { status: "done", attempts: 1, digest: "d", ...record } as StepProgress]),
    ),
  };
}

Deno.test("mid-trust: kubelets, then the control plane since the first trust step, the cluster objects, the re-rolls", () => {
  const procedure = rollbackProcedure(
    plan,
    progress({
      "distribute-cluster-ca": { startedAt: "2026-01-01T00:00:10.000Z" },
      "roll-kube-system-trust": { startedAt: "2026-01-01T00:02:00.000Z" },
      "apiserver-trust-bundle": { status: "running", startedAt: "2026-01-01T00:05:00.000Z" },
    }),
    until,
  );
  // No kubelet file was written yet (roll-kubelets had not run): no kubelet is restored.
  assert.deepEqual(procedure.steps.map((step) => `${step.id} ${step.kind}`), [
    "undo-trust-control-plane restore-control-plane",
    "undo-cluster-trust restore-cluster-trust",
    "undo-roll-kube-system-trust roll-workloads",
  ]);
  const restore = procedure.steps[0] as unknown as Record<string, unknown>;
  assert.deepEqual([restore.since, restore.until, restore.healthTimeoutSeconds], [
    "2026-01-01T00:00:10.000Z",
    "2026-01-01T01:00:00.000Z",
    180,
  ]);
  assert.equal((procedure.steps[0] as unknown as { resumed: boolean }).resumed, false);
  assert.deepEqual(procedure.warnings, []);
  assert.deepEqual(procedure.undoes, [
    "distribute-cluster-ca",
    "roll-kube-system-trust",
    "apiserver-trust-bundle",
  ]);
});

Deno.test("mid-switch: the switch's files first, then old-CA kubelet certificates, then trust", () => {
  const procedure = rollbackProcedure(
    plan,
    progress({
      "distribute-cluster-ca": { startedAt: "2026-01-01T00:00:10.000Z" },
      "apiserver-trust-bundle": { startedAt: "2026-01-01T00:05:00.000Z" },
      "roll-kubelets-trust-bundle": { startedAt: "2026-01-01T00:07:00.000Z" },
      "verify-trust": { startedAt: "2026-01-01T00:09:00.000Z" },
      "activate-cluster-ca": { startedAt: "2026-01-01T00:10:00.000Z" },
      "reissue-cluster-leaves": { status: "failed", startedAt: "2026-01-01T00:12:00.000Z" },
    }),
    until,
  );
  assert.deepEqual(procedure.steps.map((step) => step.id), [
    "undo-switch-control-plane",
    "undo-switch-kubelet-clients",
    "undo-trust-kubelets",
    "undo-trust-control-plane",
    "undo-cluster-trust",
  ]);
  assert.equal(
    (procedure.steps[0] as unknown as { since: string }).since,
    "2026-01-01T00:10:00.000Z",
  );
});

Deno.test("a rollback run again restarts every kubelet whose files the rotation wrote", () => {
  const again = {
    ...progress({
      "distribute-cluster-ca": { startedAt: "2026-01-01T00:00:10.000Z" },
      "roll-kubelets-trust-bundle": { status: "running", startedAt: "2026-01-01T00:07:00.000Z" },
    }),
    rollback: {
      startedAt: "2026-01-01T00:59:00.000Z",
      undid: ["distribute-cluster-ca", "roll-kubelets-trust-bundle"],
    },
  };
  const procedure = rollbackProcedure(plan, again, new Date(again.rollback.startedAt));
  const kubelets = procedure.steps[0] as unknown as { id: string; resumed: boolean; until: string };
  assert.deepEqual([kubelets.id, kubelets.resumed, kubelets.until], [
    "undo-trust-kubelets",
    true,
    "2026-01-01T00:59:00.000Z",
  ]);
});

Deno.test("refused as bad input: nothing has run, already rolled back, finalize begun, unknown steps", () => {
  assert.throws(
    () => rollbackProcedure(plan, undefined, until),
    (error) => error instanceof InputError && /Nothing to roll back: no step/.test(error.message),
  );
  const rolledBack = { ...progress({}), rollback: { startedAt: "x", finishedAt: "y", undid: [] } };
  assert.throws(() => rollbackProcedure(plan, rolledBack, until), /was rolled back at y/);
  assert.throws(
    () =>
      rollbackProcedure(
        plan,
        progress({
          "kubelet-rotation-gate": { status: "blocked", startedAt: "2026-01-01T00:20:00Z" },
        }),
        until,
      ),
    (error) =>
      error instanceof InputError &&
      /the finalize phase has begun \(step "kubelet-rotation-gate" is blocked\)/.test(
        error.message,
      ),
  );
  assert.throws(
    () =>
      rollbackProcedure(plan, progress({ "gone": { startedAt: "2026-01-01T00:00:00Z" } }), until),
    /names steps it does not have \(gone\)/,
  );
});
