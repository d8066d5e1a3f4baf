/**
 * Which CAs a step acts on: what a step's digest covers besides the step itself.
 * @module
 */
import { CA_NAMES, type CaName } from "./ca.ts";
import type { Plan, PlanStep } from "./schema.ts";

/**
 * The CAs a step depends on: its `ca` parameter; the cluster CA for the kinds that only make
 * sense for it (kubelets, cluster-info, `kube-root-ca.crt`); every declared CA for `verify`.
 */
export function stepCas(plan: Plan, step: PlanStep): CaName[] {
  switch (step.kind) {
    case "distribute-ca":
    case "activate-ca":
    case "reissue-leaves":
    case "remove-old-ca":
    case "update-kubeconfigs":
      return [step.ca];
    case "roll-kubelets":
    case "update-cluster-info":
    case "wait-root-ca-configmaps":
    case "verify-kubelet-rotation":
      return ["cluster"];
    case "verify":
      return CA_NAMES.filter((ca) => plan.cas[ca] !== undefined);
    case "set-component-flags":
    case "restart-component":
    case "roll-workloads":
      return [];
  }
}
