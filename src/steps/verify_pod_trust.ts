/**
 * `verify-pod-trust`: the gate before the switch. client-go reads its CA file once, at start, so
 * every running pod with the API CA mounted that started before its namespace's
 * `kube-root-ca.crt` held the bundle trusts the old CA only, and loses the API the moment the API
 * servers serve a new-CA chain. The roll-workloads steps of the trust phase replace the pods of
 * the workloads the plan rolls; this gate names every pod still left — bare pods, Jobs and CronJob
 * pods, workloads in excluded namespaces or of kinds the plan does not roll, custom controllers —
 * with its owner, and holds the run (exit code 3) unless the plan accepts them. With
 * `tokenSecrets`, pods that mount a legacy token Secret started before its `ca.crt` held the new
 * CA count too. The dry run shows the pods it would hold.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import { GateClosedError } from "../engine/step_error.ts";
import { namespacePattern } from "../plan/fields.ts";
import { stepBase } from "../plan/step_format.ts";
import { fingerprintsOf } from "../pki/mod.ts";
import {
  controllerOf,
  describeStalePods,
  type PodObject,
  type PodOwner,
  podTrustFacts,
  type StalePod,
  stalePods,
  workloadKey,
} from "./_pod_trust.ts";
import { ROLLED_FOR_ANNOTATION, rotationMark } from "./_annotations.ts";
import { ROOT_CA_CONFIGMAP } from "./_root_ca_configmaps.ts";
import { caBundleConsumers } from "./_ca_bundle_consumers.ts";
import { oldCaFingerprints } from "./trust_sets.ts";
import { WORKLOAD_KINDS } from "../plan/workloads.ts";
import {
  lastControllerManagerWrite,
  listTokenSecrets,
  objectKey,
  tokenSecretsHolding,
} from "./_token_secrets.ts";

/** `verify-pod-trust` parameters: the pods the plan accepts losing the API. */
export const VerifyPodTrustStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify-pod-trust"),
  /**
   * Tuning: pods the operator accepts losing the API at the switch (globs; all given must
   * match), e.g. `{ namespace: batch, owner: "CronJob/*" }`. They are listed, not held.
   */
  accept: z.array(z.strictObject({
    namespace: namespacePattern,
    pod: z.string().min(1).optional(),
    owner: z.string().regex(/^[A-Za-z*?]+\/\S+$/, 'must be "Kind/name" (globs allowed)')
      .optional(),
  })).default([]),
  /**
   * Tuning: also count the pods that mount a legacy service-account token Secret
   * (`kubernetes.io/service-account-token`), whose `ca.crt` they read at start. Needs a role
   * that may list Secrets (README, "Legacy token Secrets").
   */
  tokenSecrets: z.boolean().optional(),
});

type Step = z.infer<typeof VerifyPodTrustStep>;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  metadata?: KubeObject["metadata"] & { managedFields?: { manager?: string; time?: string }[] };
}

/** The new cluster CA's fingerprint. */
async function newClusterCa(ctx: StepContext): Promise<string> {
  return (await fingerprintsOf(ctx.cas.get("cluster").certPem))[0];
}

/**
 * The legacy token Secrets a pod may read the old CA from (`namespace/name`), and when each came
 * to hold the new CA (in finalize: the rotation's start, as for `kube-root-ca.crt`); none when
 * the step does not count them.
 */
async function tokenSecretTrust(
  ctx: StepContext,
  step: Step,
): Promise<{ names: Set<string>; publishedAt: Map<string, Date> | Date }> {
  if (!step.tokenSecrets) return { names: new Set(), publishedAt: new Map() };
  const secrets = await listTokenSecrets(ctx.cluster);
  return {
    names: new Set(secrets.map(objectKey)),
    publishedAt: step.phase === "finalize"
      ? ctx.rotationStartedAt
      : await tokenSecretsHolding(secrets, await newClusterCa(ctx)),
  };
}

/**
 * When each namespace's `kube-root-ca.crt` came to hold the new CA: the time the
 * controller-manager last wrote it (its managed-fields entry), for the ConfigMaps that hold it.
 */
async function newCaPublishedAt(ctx: StepContext): Promise<Map<string, Date>> {
  const newCa = await newClusterCa(ctx);
  const configMaps = await ctx.cluster.list<ConfigMap>("v1", "ConfigMap", {
    fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
    managedFields: true,
  });
  const published = new Map<string, Date>();
  for (const configMap of configMaps) {
    const pem = configMap.data?.["ca.crt"];
    const prints = pem ? await fingerprintsOf(pem).catch(() => []) : [];
    const at = lastControllerManagerWrite(configMap);
    if (prints.includes(newCa) && at) published.set(configMap.metadata?.namespace ?? "", at);
  }
  return published;
}

/** The owners one step up: ReplicaSet → Deployment, Job → CronJob. */
async function parentOwners(ctx: StepContext): Promise<Map<string, PodOwner | undefined>> {
  const parents = new Map<string, PodOwner | undefined>();
  for (const [apiVersion, kind] of [["apps/v1", "ReplicaSet"], ["batch/v1", "Job"]]) {
    await ctx.cluster.listEach<PodObject>(apiVersion, kind, {}, (object) => {
      const key = `${object.metadata?.namespace}/${kind}/${object.metadata?.name}`;
      parents.set(key, controllerOf(object));
    });
  }
  return parents;
}

/**
 * The workloads this rotation rolled: those whose pod template carries its mark (in a dry run,
 * the overlay holds what the plan's earlier roll-workloads steps would have written).
 */
async function rolledWorkloads(ctx: StepContext): Promise<Set<string>> {
  const mark = rotationMark(ctx.cas.fingerprints());
  const rolled = new Set<string>();
  for (const kind of WORKLOAD_KINDS) {
    await ctx.cluster.listEach<TemplateOwner>("apps/v1", kind, {}, (workload) => {
      if (workload.spec?.template?.metadata?.annotations?.[ROLLED_FOR_ANNOTATION] !== mark) {
        return;
      }
      rolled.add(workloadKey(workload.metadata?.namespace ?? "", {
        kind,
        name: workload.metadata?.name ?? "",
      }));
    });
  }
  return rolled;
}

interface TemplateOwner extends KubeObject {
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
}

/**
 * Every running pod that trusts the old CA only, as the plan sees it. Before and at the switch:
 * pods started before their namespace's `kube-root-ca.crt` held the new CA. In finalize, when
 * those ConfigMaps hold the new CA alone and their history is gone: pods started before the
 * rotation began (no bundle existed then) — a lower bound that misses pods started in the short
 * window between the rotation's start and the bundle's publication.
 */
async function inventory(ctx: StepContext, step: Step): Promise<StalePod[]> {
  const [pods, parents, rolled, published, tokenSecrets] = await Promise.all([
    ctx.cluster.list<PodObject>("v1", "Pod"),
    parentOwners(ctx),
    rolledWorkloads(ctx),
    step.phase === "finalize" ? ctx.rotationStartedAt : newCaPublishedAt(ctx),
    tokenSecretTrust(ctx, step),
  ]);
  const running = pods.filter((pod) => pod.status?.phase === "Running");
  return stalePods(
    running.map((pod) => podTrustFacts(pod, parents, tokenSecrets.names)),
    published,
    rolled,
    step.accept,
    tokenSecrets.publishedAt,
  );
}

/**
 * Logs the APIServices and webhooks whose own `caBundle` holds the old cluster CA: they stop
 * trusting their servers once those are re-issued by the new CA. ca-rotator does not edit them.
 */
async function reportCaBundleConsumers(ctx: StepContext): Promise<void> {
  const consumers = await caBundleConsumers(ctx.cluster, await oldCaFingerprints(ctx, "cluster"));
  if (consumers.length === 0) return;
  ctx.log.warn(
    `${consumers.length} APIServices/webhooks hold the old cluster CA in their caBundle and ` +
      `will not trust servers re-issued by the new CA (ca-rotator does not edit them): ` +
      consumers.map((each) => each.name).join(", "),
  );
}

/** The verify-pod-trust step kind. */
export const verifyPodTrust = defineStepKind<Step, void>({
  kind: "verify-pod-trust",
  schema: VerifyPodTrustStep,
  undo: { nothing: "a gate: it only reads" },
  drift: { none: "a gate: it only reads" },
  phases: ["trust", "switch", "finalize"],
  tuning: ["accept", "tokenSecrets"],
  checksOnly: true,
  cas: () => ["cluster"],

  async observe(ctx, step) {
    await reportCaBundleConsumers(ctx);
    if (!ctx.dryRun) return;
    // Before the rotation no namespace holds the bundle yet: the rolls the plan's earlier steps
    // would make (in the overlay) replace those pods; the rest are what the gate would hold.
    const left = (await inventory(ctx, step)).filter((pod) => pod.coverage !== "covered");
    const held = left.filter((pod) => !pod.accepted);
    const accepted = left.filter((pod) => pod.accepted);
    if (accepted.length) {
      ctx.log.info(`accepted to lose the API: ${describeStalePods(accepted)}`);
    }
    ctx.log.info(
      held.length
        ? `the gate would hold ${held.length} pods the plan does not roll: ${
          describeStalePods(held)
        }`
        : "every pod with the API CA mounted is rolled by the plan or accepted",
    );
  },

  diff: () => [],

  async apply() {},

  async verify(ctx, step) {
    const stale = await inventory(ctx, step);
    const accepted = stale.filter((pod) => pod.accepted);
    const held = stale.filter((pod) => !pod.accepted);
    if (accepted.length) {
      ctx.log.warn(
        `accepted: these pods will lose the API at the switch: ${describeStalePods(accepted)}`,
      );
    }
    if (held.length) {
      throw new GateClosedError(
        ctx.stepId,
        `${held.length} running pods trust the old CA only and would lose the API at the ` +
          `switch: ${describeStalePods(held)}. Restart them (or roll their owners), or list ` +
          `them under this step's accept`,
      );
    }
    ctx.log.info(
      "every running pod with the API CA mounted started after its namespace " +
        "trusted the new CA",
    );
  },
});
