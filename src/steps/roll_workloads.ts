/**
 * `roll-workloads`: restarts the pods of Deployments, DaemonSets and StatefulSets so they read
 * the CA bundle again, by setting an annotation on each pod template (as `kubectl rollout
 * restart` does), in bounded batches: the `order` namespaces first, then the rest
 * alphabetically; every rollout of a batch is awaited, by watch, before the next batch starts.
 * A workload already annotated by this step (for the same new CA) is not rolled again.
 * @module
 */
import { z } from "zod";
import type { Change, WorkloadTarget } from "../engine/change.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { apiStatus, type ObjectRef } from "../engine/cluster_api.ts";
import { type RollWorkloadsSettings, rollWorkloadsSettings } from "../plan/workloads.ts";
import { compareText, orderRank, selectedNamespaces } from "./_namespace_selection.ts";
import {
  rolloutStatus,
  WORKLOAD_API_VERSION,
  workloadAvailability,
  type WorkloadKind,
  type WorkloadObject,
} from "./_rollout_status.ts";
import { errorText, type ObjectCheck, ObjectWaitError, waitForObject } from "./_watch_object.ts";
import { stepBase } from "../plan/step_format.ts";
import { namespacePattern, positiveInt } from "../plan/fields.ts";
import { NamespaceSelector, WORKLOAD_KINDS } from "../plan/workloads.ts";

/**
 * `roll-workloads` parameters: annotate pod templates to roll workloads in bounded batches,
 * waiting for each rollout. Absent fields come from the plan's `workloads` section.
 */
export const RollWorkloadsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("roll-workloads"),
  kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1, "must name at least one kind").optional(),
  namespaces: NamespaceSelector.optional(),
  /** Tuning: workloads rolled at once. */
  batchSize: positiveInt.optional(),
  /** Tuning: how long to wait for each rollout. */
  timeoutSeconds: positiveInt.optional(),
  /** Tuning: namespaces rolled first, in this order (default: kube-system). */
  order: z.array(namespacePattern).optional(),
});

type Step = z.infer<typeof RollWorkloadsStep>;

/** The pod-template annotation naming the step that rolled a workload. */
export const ROLLED_BY_ANNOTATION = "ca-rotator.dev/rolled-by";

/**
 * The pod-template annotation naming the new CA(s) of the rotation that rolled it, so that a
 * later rotation with the same step ids rolls the workload again.
 */
export const ROLLED_FOR_ANNOTATION = "ca-rotator.dev/rolled-for";

/** One workload, by kind, namespace and name. */
export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

/** A workload as observed: its roll annotations. */
export interface ObservedWorkload extends WorkloadRef {
  readonly rolledBy?: string;
  readonly rolledFor?: string;
}

/** What `roll-workloads` observes: the workloads in scope, in roll order. */
export interface RollWorkloadsObserved {
  readonly stepId: string;
  /** The value of {@link ROLLED_FOR_ANNOTATION} for this rotation. */
  readonly mark: string;
  readonly settings: RollWorkloadsSettings;
  readonly workloads: readonly ObservedWorkload[];
}

/** The {@link ROLLED_FOR_ANNOTATION} value: the new CAs' fingerprints, abbreviated. */
export function rotationMark(fingerprints: Readonly<Record<string, string>>): string {
  return Object.entries(fingerprints).sort(([a], [b]) => compareText(a, b))
    .map(([name, print]) => `${name}:${print.slice(0, 16)}`).join(",");
}

/** Pure: the workloads in roll order: `order` namespaces first, then namespace, kind, name. */
export function sortForRoll<W extends WorkloadRef>(
  workloads: readonly W[],
  settings: Pick<RollWorkloadsSettings, "order" | "kinds">,
): W[] {
  const kindRank = (kind: string) => {
    const index = (settings.kinds as readonly string[]).indexOf(kind);
    return index < 0 ? settings.kinds.length : index;
  };
  return [...workloads].sort((a, b) =>
    orderRank(a.namespace, settings.order) - orderRank(b.namespace, settings.order) ||
    compareText(a.namespace, b.namespace) ||
    kindRank(a.kind) - kindRank(b.kind) ||
    compareText(a.name, b.name)
  );
}

/**
 * Pure: the batches of at most `batchSize` workloads, in the given order; a batch never mixes
 * an `order` group (kube-system) with what comes after it, so that group is fully rolled first.
 */
export function rollBatches<W extends WorkloadRef>(
  workloads: readonly W[],
  order: readonly string[],
  batchSize: number,
): W[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batch size must be a positive whole number, got ${batchSize}`);
  }
  const batches: W[][] = [];
  let rank = -1;
  for (const workload of workloads) {
    const current = batches.at(-1);
    const workloadRank = orderRank(workload.namespace, order);
    if (!current || current.length >= batchSize || workloadRank !== rank) {
      batches.push([workload]);
    } else {
      current.push(workload);
    }
    rank = workloadRank;
  }
  return batches;
}

/** Pure: true when this step (for this rotation) already rolled the workload. */
export function alreadyRolled(workload: ObservedWorkload, stepId: string, mark: string): boolean {
  return workload.rolledBy === stepId && workload.rolledFor === mark;
}

/** A short name: `Deployment/kube-system/coredns`. */
export function workloadName(workload: WorkloadRef): string {
  return `${workload.kind}/${workload.namespace}/${workload.name}`;
}

function refOf(workload: WorkloadRef): ObjectRef {
  return {
    apiVersion: WORKLOAD_API_VERSION,
    kind: workload.kind,
    namespace: workload.namespace,
    name: workload.name,
  };
}

/** Pure: one `roll` change per workload this step has not rolled yet, in roll order. */
export function rollChanges(observed: RollWorkloadsObserved): Change[] {
  return observed.workloads
    .filter((workload) => !alreadyRolled(workload, observed.stepId, observed.mark))
    .map((workload) => ({
      action: "roll",
      target: {
        type: "workload",
        kind: workload.kind,
        namespace: workload.namespace,
        name: workload.name,
      },
      reason: "its pods read the CA bundle at start",
    }));
}

type Annotated = WorkloadObject & {
  metadata?: WorkloadObject["metadata"] & { deletionTimestamp?: unknown };
};

/** The workloads of the step's kinds in its namespaces, with their roll annotations, in order. */
async function observeWorkloads(
  ctx: StepContext,
  settings: RollWorkloadsSettings,
): Promise<ObservedWorkload[]> {
  const namespaces = new Set(await selectedNamespaces(ctx.cluster, settings.namespaces));
  const workloads: ObservedWorkload[] = [];
  for (const kind of settings.kinds) {
    for (const object of await ctx.cluster.list<Annotated>(WORKLOAD_API_VERSION, kind)) {
      const namespace = object.metadata?.namespace ?? "";
      if (!namespaces.has(namespace) || object.metadata?.deletionTimestamp) continue;
      const annotations = object.spec?.template?.metadata?.annotations ?? {};
      workloads.push({
        kind,
        namespace,
        name: object.metadata?.name ?? "",
        rolledBy: annotations[ROLLED_BY_ANNOTATION],
        rolledFor: annotations[ROLLED_FOR_ANNOTATION],
      });
    }
  }
  return sortForRoll(workloads, settings);
}

/**
 * Sets the roll annotations on the workload's pod template (re-reading and retrying on a
 * conflict). Returns false when the workload no longer exists.
 */
async function annotate(ctx: StepContext, workload: WorkloadRef, mark: string): Promise<boolean> {
  for (let attempt = 1;; attempt++) {
    const object = await ctx.cluster.read<WorkloadObject>(refOf(workload));
    if (!object) return false;
    const spec = object.spec ??= {};
    const template = spec.template ??= {};
    const metadata = template.metadata ??= {};
    const annotations = metadata.annotations ??= {};
    if (
      annotations[ROLLED_BY_ANNOTATION] === ctx.stepId &&
      annotations[ROLLED_FOR_ANNOTATION] === mark
    ) {
      return true;
    }
    annotations[ROLLED_BY_ANNOTATION] = ctx.stepId;
    annotations[ROLLED_FOR_ANNOTATION] = mark;
    try {
      await ctx.cluster.replace({
        apiVersion: WORKLOAD_API_VERSION,
        kind: workload.kind,
        ...object,
      });
      return true;
    } catch (error) {
      if (apiStatus(error) === 404) return false;
      if (apiStatus(error) !== 409 || attempt >= 5) {
        throw new Error(`cannot annotate ${workloadName(workload)}: ${errorText(error)}`);
      }
    }
  }
}

/** The check a rollout wait uses: complete, failed, or (for `manual` ones) available. */
function rolloutCheck(workload: WorkloadRef) {
  return (object: unknown): ObjectCheck => {
    const status = rolloutStatus(workload.kind, object as WorkloadObject | undefined);
    if (status.state === "manual") {
      const availability = workloadAvailability(workload.kind, object as WorkloadObject);
      return {
        done: availability.available,
        message: `${status.message}; ${availability.message}`,
      };
    }
    return {
      done: status.state === "complete",
      failed: status.state === "failed",
      message: status.message,
    };
  };
}

/** Waits for every rollout of `workloads` (concurrently) until `deadline`; throws naming the stuck. */
async function awaitRollouts(
  ctx: StepContext,
  workloads: readonly WorkloadRef[],
  deadline: number,
): Promise<void> {
  const results = await Promise.allSettled(
    workloads.map((workload) =>
      waitForObject(ctx, refOf(workload), rolloutCheck(workload), deadline)
    ),
  );
  const stuck = results.flatMap((result, index) =>
    result.status === "rejected"
      ? [
        result.reason instanceof ObjectWaitError
          ? result.reason.message
          : `${workloadName(workloads[index])}: ${errorText(result.reason)}`,
      ]
      : []
  );
  if (stuck.length > 0) {
    throw new Error(
      `${stuck.length} of ${workloads.length} rollouts did not complete:\n  ${stuck.join("\n  ")}`,
    );
  }
}

/** The roll-workloads step kind. */
export const rollWorkloads = defineStepKind<Step, RollWorkloadsObserved>({
  kind: "roll-workloads",
  schema: RollWorkloadsStep,
  tuning: ["batchSize", "timeoutSeconds", "order"],
  // The digest covers the effective selection: a changed `workloads` default changes the step.
  digested: (step, plan) => ({ ...step, ...rollWorkloadsSettings(plan.workloads, step) }),

  async observe(ctx, step) {
    const settings = rollWorkloadsSettings(ctx.workloads, step);
    return {
      stepId: step.id,
      mark: rotationMark(ctx.cas.fingerprints()),
      settings,
      workloads: await observeWorkloads(ctx, settings),
    };
  },

  diff: (observed) => rollChanges(observed),

  async apply(ctx, step, changes) {
    const settings = rollWorkloadsSettings(ctx.workloads, step);
    const mark = rotationMark(ctx.cas.fingerprints());
    const workloads = changes.flatMap((change) =>
      change.action === "roll" && change.target.type === "workload"
        ? [change.target as WorkloadTarget as WorkloadRef]
        : []
    );
    const batches = rollBatches(
      sortForRoll(workloads, settings),
      settings.order,
      settings.batchSize,
    );
    if (ctx.dryRun) {
      for (const batch of batches) {
        await Promise.all(batch.map((workload) => annotate(ctx, workload, mark)));
      }
      ctx.log.info(`would roll ${workloads.length} workloads in ${batches.length} batches`);
      return;
    }
    let rolled = 0;
    for (const [index, batch] of batches.entries()) {
      ctx.log.info(
        `batch ${index + 1}/${batches.length}: rolling ${batch.map(workloadName).join(", ")}`,
      );
      const present = await Promise.all(batch.map((workload) => annotate(ctx, workload, mark)));
      const annotated = batch.filter((_, position) => present[position]);
      for (const [position, workload] of batch.entries()) {
        if (!present[position]) ctx.log.info(`${workloadName(workload)} no longer exists`);
      }
      await awaitRollouts(ctx, annotated, Date.now() + settings.timeoutSeconds * 1000);
      for (const workload of annotated) {
        const status = rolloutStatus(
          workload.kind,
          await ctx.cluster.read<WorkloadObject>(refOf(workload)),
        );
        if (status.state === "manual") ctx.log.warn(`${workloadName(workload)}: ${status.message}`);
      }
      rolled += batch.length;
      ctx.log.info(`rolled ${rolled}/${workloads.length} workloads`);
    }
  },

  async verify(ctx, step) {
    const settings = rollWorkloadsSettings(ctx.workloads, step);
    const mark = rotationMark(ctx.cas.fingerprints());
    const observed = await observeWorkloads(ctx, settings);
    const rolled = observed.filter((workload) => alreadyRolled(workload, step.id, mark));
    const notRolled = observed.length - rolled.length;
    if (notRolled > 0) {
      ctx.log.info(`${notRolled} workloads appeared since the roll began; their pods are new`);
    }
    // Wait for the rolled ones (a resumed run finds rollouts it started before a crash).
    const deadline = Date.now() + settings.timeoutSeconds * 1000;
    for (const batch of rollBatches(rolled, [], settings.batchSize)) {
      await awaitRollouts(ctx, batch, deadline);
    }
    ctx.log.info(`${rolled.length} rolled workloads are available`);
  },
});
