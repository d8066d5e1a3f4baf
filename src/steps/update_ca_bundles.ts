/**
 * `update-ca-bundles`: the `caBundle` of the APIServices and admission webhook configurations the
 * plan names → the bundle or the new cluster CA, for aggregated API servers and webhooks whose
 * serving certificates the cluster CA issues. Objects the plan does not name are left alone (the
 * pod-trust gate lists those that hold the old CA).
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import type { Change } from "../engine/change.ts";
import { apiStatus, type KubeObject, type ObjectRef } from "../engine/cluster_api.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { stepBase } from "../plan/step_format.ts";
import { sameCertificates } from "../pki/mod.ts";
import { trustSetField } from "./_step_fields.ts";
import { errorText } from "./_watch_object.ts";
import { trustPem } from "./trust_sets.ts";

const KINDS = {
  APIService: "apiregistration.k8s.io/v1",
  ValidatingWebhookConfiguration: "admissionregistration.k8s.io/v1",
  MutatingWebhookConfiguration: "admissionregistration.k8s.io/v1",
} as const;

/**
 * `update-ca-bundles` parameters: `Kind/name` of each object (none: the step does nothing, a place
 * for the operator to list them), and what its caBundle holds.
 */
export const UpdateCaBundlesStep = z.strictObject({
  ...stepBase,
  kind: z.literal("update-ca-bundles"),
  objects: z.array(
    z.string().regex(
      /^(APIService|ValidatingWebhookConfiguration|MutatingWebhookConfiguration)\/[a-z0-9.-]+$/,
      'must be "APIService/<name>", "ValidatingWebhookConfiguration/<name>" or ' +
        '"MutatingWebhookConfiguration/<name>"',
    ),
  ),
  caData: trustSetField,
  /** Objects (of `objects`) updated only if they exist. */
  ifPresent: z.array(z.string()).default([]),
});

type Step = z.infer<typeof UpdateCaBundlesStep>;

interface CaBundleObject extends KubeObject {
  spec?: { caBundle?: string };
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
}

/** One named object as observed: the object and its copy with the wanted caBundle. */
interface Observed {
  readonly ref: ObjectRef;
  readonly current?: CaBundleObject;
  readonly desired?: CaBundleObject;
}

function refOf(name: string): ObjectRef {
  const [kind, objectName] = name.split("/") as [keyof typeof KINDS, string];
  return { apiVersion: KINDS[kind], kind, name: objectName };
}

/** Every caBundle of an object (an APIService has one; a webhook configuration one per webhook). */
function caBundles(object: CaBundleObject): (string | undefined)[] {
  return object.kind === "APIService"
    ? [object.spec?.caBundle]
    : (object.webhooks ?? []).map((webhook) => webhook.clientConfig?.caBundle);
}

function withCaBundle(object: CaBundleObject, caBundle: string): CaBundleObject {
  if (object.kind === "APIService") return { ...object, spec: { ...object.spec, caBundle } };
  return {
    ...object,
    webhooks: (object.webhooks ?? []).map((webhook) => ({
      ...webhook,
      clientConfig: { ...webhook.clientConfig, caBundle },
    })),
  };
}

async function holds(object: CaBundleObject, pem: string): Promise<boolean> {
  for (const caBundle of caBundles(object)) {
    if (!caBundle) return false;
    if (!(await sameCertificates(atob(caBundle), pem).catch(() => false))) return false;
  }
  return true;
}

/** The object as a diff shows it: only what identifies it and its caBundles. */
function view(object: CaBundleObject): string {
  return stringify({
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { name: object.metadata?.name },
    caBundles: caBundles(object).map((bundle) => bundle ? atob(bundle) : null),
  }, { lineWidth: 0 });
}

async function observeAll(ctx: StepContext, step: Step): Promise<Observed[]> {
  const pem = await trustPem(ctx, "cluster", step.caData);
  return await Promise.all(step.objects.map(async (name) => {
    const ref = refOf(name);
    const current = await ctx.cluster.read<CaBundleObject>(ref);
    if (!current) {
      if (step.ifPresent.includes(name)) return { ref };
      throw new Error(`${name} does not exist (list it under ifPresent if that is expected)`);
    }
    const object = { ...current, apiVersion: ref.apiVersion, kind: ref.kind };
    return {
      ref,
      current: object,
      desired: await holds(object, pem) ? object : withCaBundle(object, btoa(pem)),
    };
  }));
}

/** The update-ca-bundles step kind. */
export const updateCaBundles = defineStepKind<Step, Observed[]>({
  kind: "update-ca-bundles",
  schema: UpdateCaBundlesStep,
  undo: {
    kept:
      "the caBundles it wrote hold the old CA too, so the APIServices and webhooks keep working",
  },
  drift: { reapply: "it rewrites the named objects' caBundle with the resourceVersion just read" },
  trustSetField: "caData",
  cas: () => ["cluster"],
  rules: (step) =>
    step.ifPresent.flatMap((name, index) =>
      step.objects.includes(name)
        ? []
        : [{ path: ["ifPresent", index], message: `"${name}" is not one of this step's objects` }]
    ),

  observe: observeAll,

  diff: (observed) =>
    observed.flatMap(({ ref, current, desired }): Change[] =>
      current && desired && current !== desired
        ? [{
          action: "update",
          target: { type: "object", ...ref },
          before: view(current),
          after: view(desired),
          reason: "its caBundle must trust the servers the cluster CA issues",
        }]
        : []
    ),

  async apply(ctx, step) {
    // Re-read and write with the resourceVersion just read: a conflict is reported, not lost.
    for (const { ref, desired, current } of await observeAll(ctx, step)) {
      if (!desired || desired === current) continue;
      try {
        await ctx.cluster.replace(desired);
      } catch (error) {
        throw new Error(
          `cannot update ${ref.kind}/${ref.name}: ${errorText(error)}` +
            (apiStatus(error) === 409 ? " (changed meanwhile: run again)" : ""),
        );
      }
    }
  },

  async verify(ctx, step) {
    const pem = await trustPem(ctx, "cluster", step.caData);
    for (const name of step.objects) {
      const object = await ctx.cluster.read<CaBundleObject>(refOf(name));
      if (!object) continue;
      if (!(await holds({ ...object, kind: refOf(name).kind }, pem))) {
        throw new Error(
          `${name}: caBundle does not hold ${
            step.caData === "new" ? "the new CA only" : "the bundle"
          }`,
        );
      }
    }
  },
});
