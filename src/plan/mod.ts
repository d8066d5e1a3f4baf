/**
 * The rotation plan: its schema, loader, digests and the helpers the engine needs.
 *
 * ```ts
 * import { loadPlan } from "./src/plan/mod.ts";
 * const { plan, digest, stepDigests } = await loadPlan("plans/kubeadm.yaml");
 * ```
 * @module
 */
export {
  CA_NAMES,
  caFileBase,
  type CaName,
  type CaSource,
  TRUST_SETS,
  type TrustSet,
} from "./ca.ts";
export { canonicalJson, planDigest, sha256Digest, stepDigest, stepDigests } from "./digest.ts";
export { durationSeconds } from "./duration.ts";
export { type Layout, LAYOUT_PRESETS, type LayoutPreset, PRESET_LAYOUTS } from "./layout.ts";
export { type LoadedPlan, loadPlan, parsePlan } from "./load.ts";
export { type NodeGroup, nodeNames } from "./nodes.ts";
export { type Phase, phaseIndex, PHASES } from "./phase.ts";
export { PlanError, type PlanProblem } from "./plan_error.ts";
export { stepCas } from "./references.ts";
export {
  API_VERSION,
  type Plan,
  PLAN_KIND,
  PlanSchema,
  type PlanStep,
  STEP_KINDS,
  type StepKind,
  type StepOfKind,
} from "./schema.ts";
export { COMPONENTS, NODE_GROUPS, VERIFY_CHECKS, WORKLOAD_KINDS } from "./steps.ts";
export { type RollWorkloadsSettings, rollWorkloadsSettings } from "./workloads.ts";
