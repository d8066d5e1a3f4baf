/**
 * The `root-ca-configmaps` check: every namespace's `kube-root-ca.crt` holds the trust set the
 * phase expects.
 * @module
 */
import {
  describeRootCaProblems,
  ROOT_CA_CONFIGMAP,
  rootCaStatus,
  trustSetName,
} from "../_root_ca_configmaps.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

/** Reads every namespace's `kube-root-ca.crt` and compares it with the expected trust set. */
export async function checkRootCaConfigMaps(facts: CheckFacts): Promise<CheckFindings> {
  const set = facts.expectations.rootCa;
  const status = await rootCaStatus(facts.ctx, set);
  return {
    summary: `${status.namespaces - status.wrong.length} of ${
      plural(status.namespaces, "namespace")
    }' ${ROOT_CA_CONFIGMAP} hold ${trustSetName(set)}`,
    problems: status.wrong.length === 0
      ? []
      : status.wrong.map((each) => describeRootCaProblems([each])),
    notes: [],
  };
}
