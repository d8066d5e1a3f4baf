/**
 * The step kinds of a rollback: those only a rollback runs, and `roll-workloads`, which it
 * reuses to re-roll the workloads the trust phase rolled.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import { rollWorkloads } from "../steps/roll_workloads.ts";
import { reissueKubeletClients } from "./reissue_kubelet_clients.ts";
import { restoreClusterTrust } from "./restore_cluster_trust.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { restoreKubelets } from "./restore_kubelets.ts";

/** Every kind a rollback procedure uses. */
export const ROLLBACK_KINDS: readonly StepKind[] = [
  restoreControlPlane,
  reissueKubeletClients,
  restoreKubelets,
  restoreClusterTrust,
  rollWorkloads,
] as unknown as readonly StepKind[];
