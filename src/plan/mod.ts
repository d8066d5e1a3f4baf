/**
 * The rotation plan format: its schema (built from a list of step kinds), loader, rules and
 * digests. The list of step kinds ca-rotator ships lives in src/steps/kinds.ts; src/app/plan.ts
 * loads plans with it.
 *
 * ```ts
 * import { loadPlan } from "./src/app/plan.ts";
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
export { type Component, componentField, COMPONENTS } from "./component.ts";
export { canonicalJson, planDigest, sha256Digest, stepDigest, stepDigests } from "./digest.ts";
export { DurationError, isDuration, parseDuration } from "./duration.ts";
export { type Layout, LAYOUT_PRESETS, type LayoutPreset, PRESET_LAYOUTS } from "./layout.ts";
export {
  type LoadedPlan,
  loadPlanWith,
  parsePlanWith,
  type PlanFormat,
  planFormat,
} from "./load.ts";
export { NODE_GROUPS, type NodeGroup, nodeNames } from "./nodes.ts";
export { type Phase, phaseIndex, PHASES } from "./phase.ts";
export { PlanError, type PlanProblem } from "./plan_error.ts";
export { ifPresentSubset, planRules } from "./rules.ts";
export {
  API_VERSION,
  type ApiServers,
  type Plan,
  PLAN_KIND,
  planSchema,
  type PlanSettings,
} from "./schema.ts";
export {
  type RuleIssue,
  stepBase,
  stepCas,
  type StepFields,
  type StepFormat,
  type StepOf,
} from "./step_format.ts";
export {
  type NamespaceSelector,
  NamespaceSelectorSchema,
  type RollWorkloadsSettings,
  rollWorkloadsSettings,
  WORKLOAD_KINDS,
} from "./workloads.ts";
