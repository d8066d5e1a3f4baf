/**
 * What each phase of a rotation leaves behind, as the `verify` checks expect it:
 *
 * | check               | trust                 | switch            | finalize                   |
 * | ------------------- | --------------------- | ----------------- | -------------------------- |
 * | api-serving-chain   | chains to the old CA  | chains to new CA  | new CA, and not old alone  |
 * | root-ca-configmaps  | bundle                | bundle            | new CA only                |
 * | kubeconfigs         | bundle                | bundle, new certs | new CA only, new certs     |
 * | leaf-certificates   | —                     | new CAs issued    | new CAs issued             |
 *
 * and, in every phase, nodes Ready, workloads available and components healthy.
 * @module
 */
import type { TrustSet } from "../../plan/ca.ts";
import type { Phase } from "../../plan/phase.ts";

/** Which CA the API servers' serving chains must lead to. */
export type ServingExpectation = "old" | "new" | "new-only";

/** What a phase leaves behind. */
export interface PhaseExpectations {
  /** `old`: still the old CA; `new`: the new CA; `new-only`: the new CA and not the old alone. */
  readonly serving: ServingExpectation;
  /** What every namespace's kube-root-ca.crt holds. */
  readonly rootCa: TrustSet;
  /** What the control-plane kubeconfigs' certificate-authority-data hold. */
  readonly kubeconfigCa: TrustSet;
  /** Whether the kubeconfigs' client certificates are issued by the new CA. */
  readonly clientCertsByNewCa: boolean;
}

/** Pure: what the cluster looks like at the end of `phase`. */
export function phaseExpectations(phase: Phase): PhaseExpectations {
  switch (phase) {
    case "trust":
      return {
        serving: "old",
        rootCa: "bundle",
        kubeconfigCa: "bundle",
        clientCertsByNewCa: false,
      };
    case "switch":
      return { serving: "new", rootCa: "bundle", kubeconfigCa: "bundle", clientCertsByNewCa: true };
    case "finalize":
      return { serving: "new-only", rootCa: "new", kubeconfigCa: "new", clientCertsByNewCa: true };
  }
}
