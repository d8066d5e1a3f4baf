/**
 * The undo kinds: the step kinds only a rollback runs, each reverting what the steps whose kind
 * names it in `undo.by` wrote (src/engine/undo.ts). A plan cannot name them. Their order here is
 * the order a rollback runs them within a phase: the kubelets back on the phase's files first,
 * then the control plane (restarted, never two API servers down), then kubelets re-issued a
 * client certificate of the restored signer, then files no component reads; after every phase,
 * the API objects that publish the cluster's trust.
 * @module
 */
import type { UndoKind } from "../engine/undo.ts";
import { reissueKubeletClients } from "./reissue_kubelet_clients.ts";
import { restoreClusterTrust } from "./restore_cluster_trust.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { restoreKubelets } from "./restore_kubelets.ts";
import { restoreNodeFiles } from "./restore_node_files.ts";

/** Every undo kind, in the order a rollback runs them. */
export const UNDO_KINDS: readonly UndoKind[] = [
  restoreKubelets,
  restoreControlPlane,
  reissueKubeletClients,
  restoreNodeFiles,
  restoreClusterTrust,
];
