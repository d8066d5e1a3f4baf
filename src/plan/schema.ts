/**
 * The rotation plan schema: one YAML document, `apiVersion: ca-rotator.dev/v1`,
 * `kind: RotationPlan`. Every object is strict, so a misspelt field is an error, and the
 * cross-field rules of {@link planRules} (unique ids, phase order, declared CAs, the kubelet
 * gate before finalize) hold for every plan that parses.
 * @module
 */
import { z } from "zod";
import { CasSchema } from "./ca.ts";
import { dnsLabel, httpsUrl } from "./fields.ts";
import { LayoutSchema } from "./layout.ts";
import { NodesSchema } from "./nodes.ts";
import { PHASES } from "./phase.ts";
import { planRules } from "./rules.ts";
import { StepSchema } from "./steps.ts";
import { WorkloadsSchema } from "./workloads.ts";

export { STEP_KINDS, type StepKind } from "./steps.ts";

/** The plan format's `apiVersion`. */
export const API_VERSION = "ca-rotator.dev/v1";

/** The plan format's `kind`. */
export const PLAN_KIND = "RotationPlan";

/** The `apiServers` section: endpoints whose serving chain is verified, and the LB. */
export const ApiServersSchema = z.strictObject({
  /** Absent: each control-plane node's kube-apiserver manifest (advertise address, port). */
  endpoints: z.array(httpsUrl).min(1, "must list at least one endpoint").optional(),
  loadBalancer: httpsUrl.optional(),
});

const PlanObject = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(PLAN_KIND),
  metadata: z.strictObject({
    /** Names the progress ConfigMap `kube-system/ca-rotator-<name>`. */
    name: dnsLabel,
  }),
  /** The phase after which a run stops: the GitOps gate. */
  stopAfter: z.enum(PHASES),
  layout: LayoutSchema,
  nodes: NodesSchema,
  apiServers: ApiServersSchema.optional(),
  cas: CasSchema,
  workloads: WorkloadsSchema.prefault({}),
  steps: z.array(StepSchema).min(1, "must list at least one step"),
});

/** A rotation plan, resolved: layout preset applied, defaults filled in. */
export const PlanSchema = PlanObject.superRefine((plan, ctx) => {
  for (const issue of planRules(plan)) {
    ctx.addIssue({ code: "custom", input: plan, path: issue.path, message: issue.message });
  }
});

/** A rotation plan. */
export type Plan = z.infer<typeof PlanObject>;

/** Any step of a plan. */
export type PlanStep = Plan["steps"][number];

/** The step of one kind. */
export type StepOfKind<K extends PlanStep["kind"]> = Extract<PlanStep, { kind: K }>;
