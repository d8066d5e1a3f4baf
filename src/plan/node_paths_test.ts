import assert from "node:assert/strict";
import { CONTROL_PLANE_KUBECONFIGS } from "./node_paths.ts";
import { loadPlan } from "../app/plan.ts";
import type { LoadedPlan } from "./load.ts";
import type { PlanStep } from "../steps/kinds.ts";
import type { Phase } from "./phase.ts";
import { shippedPlan } from "./_test_plans.ts";

/** Per phase, the kubeconfigs the plan's control-plane update-kubeconfigs steps name. */
function kubeconfigsUpdated(
  loaded: LoadedPlan<PlanStep>,
): Map<Phase, { files: Set<string>; ifPresent: Set<string> }> {
  const byPhase = new Map<Phase, { files: Set<string>; ifPresent: Set<string> }>();
  for (const step of loaded.plan.steps) {
    if (step.kind !== "update-kubeconfigs" || step.on !== "controlPlane") continue;
    const named = byPhase.get(step.phase) ?? { files: new Set(), ifPresent: new Set() };
    for (const file of step.files) named.files.add(file);
    for (const file of step.ifPresent) named.ifPresent.add(file);
    byPhase.set(step.phase, named);
  }
  return byPhase;
}

/** Asserts that the plan updates, in each phase that updates kubeconfigs, what verify checks. */
function assertPlanUpdatesCheckedKubeconfigs(loaded: LoadedPlan<PlanStep>): void {
  const byPhase = kubeconfigsUpdated(loaded);
  assert.ok(byPhase.size > 0, `${loaded.path} has no update-kubeconfigs step`);
  for (const [phase, named] of byPhase) {
    for (const { file, required } of CONTROL_PLANE_KUBECONFIGS) {
      assert.ok(
        named.files.has(file),
        `${loaded.path}: the ${phase} phase does not update ${file}`,
      );
      if (required) {
        assert.ok(
          !named.ifPresent.has(file),
          `${loaded.path}: the ${phase} phase updates ${file} only where present`,
        );
      }
    }
  }
}

Deno.test("CONTROL_PLANE_KUBECONFIGS: super-admin.conf only where present", () => {
  assert.deepEqual(
    CONTROL_PLANE_KUBECONFIGS.filter((each) => each.required).map((each) => each.file),
    ["admin.conf", "controller-manager.conf", "scheduler.conf"],
  );
});

Deno.test("CONTROL_PLANE_KUBECONFIGS: plans/kubeadm.yaml updates each of them in its kubeconfig steps", async () => {
  assertPlanUpdatesCheckedKubeconfigs(await loadPlan(shippedPlan("kubeadm.yaml"), {}));
});

Deno.test("CONTROL_PLANE_KUBECONFIGS: plans/local-demo.yaml updates each of them in its kubeconfig steps", async () => {
  assertPlanUpdatesCheckedKubeconfigs(
    await loadPlan(shippedPlan("local-demo.yaml"), {
      NODE_ROOTS: "/tmp/cluster/cp-1",
      NODE_IPS: "198.18.1.1",
    }),
  );
});
