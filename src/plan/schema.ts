/**
 * The rotation plan schema: one YAML document, `apiVersion: ca-rotator.dev/v1`,
 * `kind: RotationPlan`. Every object is strict, so a misspelt field is an error. The `steps`
 * list is built from the step kinds given to {@link planSchema}, and the cross-field rules of
 * {@link planRules} (unique ids, phase order, declared CAs, each kind's own rules) hold for every
 * plan that parses.
 * @module
 */
import { z } from "zod";
import { CasSchema } from "./ca.ts";
import { dnsLabel, httpsUrl } from "./fields.ts";
import { LayoutSchema } from "./layout.ts";
import { NodesSchema } from "./nodes.ts";
import { PHASES } from "./phase.ts";
import { planRules } from "./rules.ts";
import type { StepFields, StepFormat } from "./step_format.ts";
import { StaticPodsSchema } from "./static_pods.ts";
import { WorkloadsSchema } from "./workloads.ts";

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

/** The `apiServers` section. */
export type ApiServers = z.infer<typeof ApiServersSchema>;

const settingsShape = {
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
  /** Static pods besides the control-plane components that mount kubeconfigs or the PKI dir. */
  staticPods: StaticPodsSchema.prefault({}),
};

const PlanSettingsObject = z.strictObject(settingsShape);

/** Everything a plan says besides its steps. */
export type PlanSettings = z.infer<typeof PlanSettingsObject>;

/** A rotation plan, resolved (layout preset applied, defaults filled in), with steps of type `S`. */
export type Plan<S extends StepFields = StepFields> = PlanSettings & { steps: S[] };

/** The plan schema for the given step kinds: `steps` is a union discriminated by `kind`. */
export function planSchema<S extends StepFields>(
  kinds: readonly StepFormat<S>[],
): z.ZodType<Plan<S>> {
  // Each kind's schema is a strict object with a literal `kind`: what a discriminated union takes.
  const options = kinds.map((kind) => kind.schema) as unknown as [z.ZodObject, ...z.ZodObject[]];
  const step = z.discriminatedUnion("kind", options);
  const plan = z.strictObject({
    ...settingsShape,
    steps: z.array(step).min(1, "must list at least one step"),
  });
  return plan.superRefine((value, ctx) => {
    for (const issue of planRules(value as unknown as Plan<S>, kinds)) {
      ctx.addIssue({ code: "custom", input: value, path: issue.path, message: issue.message });
    }
  }) as unknown as z.ZodType<Plan<S>>;
}
