/**
 * The step kinds of the plan format, in the order they usually appear in a plan. This list is
 * the one place a kind is registered: the plan schema, rules, digests and the runner's registry
 * are derived from it. Adding a step kind = one file under src/steps/ + one line here.
 * @module
 */
import { planFormat } from "../plan/load.ts";
import type { StepOf } from "../plan/step_format.ts";
import { activateCa } from "./activate_ca.ts";
import { activateSaKey } from "./activate_sa_key.ts";
import { distributeCa } from "./distribute_ca.ts";
import { etcdSnapshot } from "./etcd_snapshot.ts";
import { etcdTrustGate } from "./etcd_trust_gate.ts";
import { distributeSaKey } from "./distribute_sa_key.ts";
import { pruneAuthenticationTrust } from "./prune_authentication_trust.ts";
import { reissueLeaves } from "./reissue_leaves.ts";
import { removeOldCa } from "./remove_old_ca.ts";
import { removeOldSaKey } from "./remove_old_sa_key.ts";
import { restartComponent } from "./restart_component.ts";
import { restartStaticPods } from "./restart_static_pods.ts";
import { kubeletServingGate } from "./kubelet_serving_gate.ts";
import { rollKubelets } from "./roll_kubelets.ts";
import { rollWorkloads } from "./roll_workloads.ts";
import { setComponentFlags } from "./set_component_flags.ts";
import { updateCaBundles } from "./update_ca_bundles.ts";
import { updateClusterInfo } from "./update_cluster_info.ts";
import { updateKubeconfigs } from "./update_kubeconfigs.ts";
import { verify } from "./verify.ts";
import { verifyKubeletRotation } from "./verify_kubelet_rotation.ts";
import { verifyPodTrust } from "./verify_pod_trust.ts";
import { verifySaJwks } from "./verify_sa_jwks.ts";
import { verifySaTokens } from "./verify_sa_tokens.ts";
import { waitRootCaConfigMaps } from "./wait_root_ca_configmaps.ts";
import { waitTokenSecrets } from "./wait_token_secrets.ts";

/** Every step kind ca-rotator implements. */
export const STEP_KINDS = [
  distributeCa,
  etcdSnapshot,
  distributeSaKey,
  setComponentFlags,
  restartComponent,
  restartStaticPods,
  etcdTrustGate,
  updateKubeconfigs,
  activateCa,
  reissueLeaves,
  rollKubelets,
  rollWorkloads,
  updateClusterInfo,
  updateCaBundles,
  waitRootCaConfigMaps,
  waitTokenSecrets,
  verify,
  verifySaJwks,
  verifyPodTrust,
  verifyKubeletRotation,
  kubeletServingGate,
  verifySaTokens,
  activateSaKey,
  pruneAuthenticationTrust,
  removeOldCa,
  removeOldSaKey,
] as const;

/** Any step of a plan. */
export type PlanStep = StepOf<typeof STEP_KINDS[number]>;

/** The name of a step kind. */
export type StepKindName = PlanStep["kind"];

/** The step of one kind: a misspelt kind name is a compile error. */
export type StepOfKind<K extends StepKindName> = Extract<PlanStep, { kind: K }>;

/** The plan format of ca-rotator's step kinds. */
export const PLAN_FORMAT = planFormat<PlanStep>(STEP_KINDS);
