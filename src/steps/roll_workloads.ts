/**
 * `roll-workloads`: restarts the pods of Deployments, DaemonSets and StatefulSets so they read
 * the CA bundle again, by setting an annotation on each pod template (as `kubectl rollout
 * restart` does), in a rolling window: at most `batchSize` rollouts in flight, the next one
 * starting as soon as one completes — or, with `window: adaptive`, a window that starts at
 * `windowStart`, grows by one per healthy rollout and halves at a slow or failed one, at most
 * `batchSize` (`_adaptive_window.ts`); the `order` namespaces first (fully rolled before the rest
 * starts), then the rest alphabetically. A rollout that fails or times out stops new starts.
 * Each workload costs one PATCH; every rollout is awaited through one shared LIST and WATCH per
 * kind. A workload already annotated by this step (for the same new CA) is not rolled again.
 * @module
 */
import { z } from "zod";
import type { Change, WorkloadTarget } from "../engine/change.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { ObjectRef } from "../engine/cluster_api.ts";
import { type RollWorkloadsSettings, rollWorkloadsSettings } from "../plan/workloads.ts";
import { compareText, orderRank, selectedNamespaces } from "./_namespace_selection.ts";
import {
  rolloutStatus,
  WORKLOAD_API_VERSION,
  workloadAvailability,
  type WorkloadKind,
  type WorkloadObject,
} from "./_rollout_status.ts";
import { errorText, type ObjectCheck, ObjectWaitError } from "./_watch_object.ts";
import { CollectionWatch } from "./_collection_watch.ts";
import { rollingWindow, type WindowOutcome } from "./_rolling_window.ts";
import { stepWindow, stoppedText } from "./_step_window.ts";
import { ROLLED_BY_ANNOTATION, ROLLED_FOR_ANNOTATION, rotationMark } from "./_annotations.ts";
import { stepBase } from "../plan/step_format.ts";
import { namespacePattern, positiveInt } from "../plan/fields.ts";
import { NamespaceSelectorSchema, WORKLOAD_KINDS } from "../plan/workloads.ts";
import { windowField, windowIssues, windowStartField } from "../plan/window.ts";

/**
 * `roll-workloads` parameters: annotate pod templates to roll workloads in a rolling window,
 * waiting for each rollout. Absent fields come from the plan's `workloads` section.
 */
export const RollWorkloadsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("roll-workloads"),
  kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1, "must name at least one kind").optional(),
  namespaces: NamespaceSelectorSchema.optional(),
  /** Tuning: the window: at most this many rollouts in flight at once (adaptive: its maximum). */
  batchSize: positiveInt.optional(),
  /** Tuning: `fixed` (`batchSize` at once) or `adaptive` (AIMD, up to `batchSize`). */
  window: windowField.optional(),
  /** Tuning: where an adaptive window starts (default 1). */
  windowStart: windowStartField.optional(),
  /** Tuning: how long to wait for each rollout. */
  timeoutSeconds: positiveInt.optional(),
  /** Tuning: namespaces rolled first, in this order (default: kube-system). */
  order: z.array(namespacePattern).optional(),
});

type Step = z.infer<typeof RollWorkloadsStep>;

/** One workload, by kind, namespace and name. */
export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

/** A workload as observed: its roll annotations. */
export interface ObservedWorkload extends WorkloadRef {
  /** Desired replicas; absent for a DaemonSet (one pod per node). */
  readonly replicas?: number;
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

/** Pure: the window group of a workload: its `order` rank, so each group rolls after the last. */
export function rollGroup(order: readonly string[]): (workload: WorkloadRef) => number {
  return (workload) => orderRank(workload.namespace, order);
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
        ...(workload.replicas !== undefined ? { replicas: workload.replicas } : {}),
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
    await ctx.cluster.listEach<Annotated>(WORKLOAD_API_VERSION, kind, {}, (object) => {
      const namespace = object.metadata?.namespace ?? "";
      if (!namespaces.has(namespace) || object.metadata?.deletionTimestamp) return;
      const annotations = object.spec?.template?.metadata?.annotations ?? {};
      workloads.push({
        kind,
        namespace,
        name: object.metadata?.name ?? "",
        ...(kind === "DaemonSet" ? {} : { replicas: object.spec?.replicas ?? 1 }),
        rolledBy: annotations[ROLLED_BY_ANNOTATION],
        rolledFor: annotations[ROLLED_FOR_ANNOTATION],
      });
    });
  }
  return sortForRoll(workloads, settings);
}

/**
 * Sets the roll annotations on the workload's pod template with one merge patch (no read, no
 * conflict). Returns the patched object, or `undefined` when the workload no longer exists.
 */
async function annotate(
  ctx: StepContext,
  workload: WorkloadRef,
  mark: string,
): Promise<WorkloadObject | undefined> {
  try {
    return await ctx.cluster.patch<WorkloadObject>(refOf(workload), {
      spec: {
        template: {
          metadata: {
            annotations: { [ROLLED_BY_ANNOTATION]: ctx.stepId, [ROLLED_FOR_ANNOTATION]: mark },
          },
        },
      },
    });
  } catch (error) {
    throw new Error(`cannot annotate ${workloadName(workload)}: ${errorText(error)}`);
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

/** One shared watch per kind of the given workloads, started (listed) before anything is written. */
async function watchRollouts(
  ctx: StepContext,
  workloads: readonly WorkloadRef[],
): Promise<Map<WorkloadKind, CollectionWatch>> {
  const watches = new Map<WorkloadKind, CollectionWatch>();
  for (const kind of new Set(workloads.map((workload) => workload.kind))) {
    const refs = workloads.filter((workload) => workload.kind === kind);
    watches.set(kind, new CollectionWatch(ctx, WORKLOAD_API_VERSION, kind, refs));
  }
  try {
    await Promise.all([...watches.values()].map((watch) => watch.start()));
  } catch (error) {
    await stopAll(watches);
    throw error;
  }
  return watches;
}

async function stopAll(watches: Map<WorkloadKind, CollectionWatch>): Promise<void> {
  await Promise.all([...watches.values()].map((watch) => watch.stop()));
}

/** Pure: the error a window run that did not finish ends with, naming what failed and what is left. */
export function windowError(
  outcome: Pick<WindowOutcome<WorkloadRef>, "failed" | "notStarted" | "stoppedWith">,
  total: number,
): Error {
  const failures = outcome.failed.map(({ item, error }) =>
    error instanceof ObjectWaitError ? error.message : `${workloadName(item)}: ${errorText(error)}`
  );
  const left = outcome.notStarted.length > 0
    ? `; ${outcome.notStarted.length} not started (stopped at the first failure)`
    : "";
  return new Error(
    `${failures.length} of ${total} rollouts did not complete${left}${stoppedText(outcome)}:\n  ${
      failures.join("\n  ")
    }`,
  );
}

/**
 * Rolls (or, with `patch: false`, only awaits) `workloads` in the settings' window (fixed or
 * adaptive); with `groups`, the `order` groups one after the other. Throws naming the rollouts
 * that failed and how many were in flight when new starts stopped.
 */
async function rollInWindow(
  ctx: StepContext,
  workloads: readonly WorkloadRef[],
  settings: RollWorkloadsSettings,
  options: { readonly mark: string; readonly patch: boolean; readonly groups: boolean },
): Promise<void> {
  const watches = await watchRollouts(ctx, workloads);
  const timeoutMs = settings.timeoutSeconds * 1000;
  const window = stepWindow<WorkloadRef>(settings, {
    timeoutMs,
    name: workloadName,
    taskClass: (workload) => workload.kind,
    log: (message) => ctx.log.info(message),
  });
  let finished = 0;
  let reported = Date.now();
  const startedAt = reported;
  const outcome = await rollingWindow(workloads, window.size, async (workload) => {
    let minGeneration = 0;
    if (options.patch) {
      const patched = await annotate(ctx, workload, options.mark);
      if (!patched) {
        ctx.log.info(`${workloadName(workload)} no longer exists`);
        return;
      }
      minGeneration = patched.metadata?.generation ?? 0;
    }
    const watch = watches.get(workload.kind)!;
    await watch.until(workload, minGeneration, rolloutCheck(workload), Date.now() + timeoutMs);
    const status = rolloutStatus(workload.kind, watch.latest(workload));
    if (status.state === "manual") ctx.log.warn(`${workloadName(workload)}: ${status.message}`);
    finished++;
    ctx.progress(
      settings.window === "adaptive"
        ? `the workloads' rollouts (window ${window.size()})`
        : "the workloads' rollouts",
      finished,
      workloads.length,
      startedAt + timeoutMs * Math.ceil(workloads.length / window.size()),
    );
    if (Date.now() - reported > 5_000 || finished === workloads.length) {
      ctx.log.info(`rolled ${finished}/${workloads.length} workloads`);
      reported = Date.now();
    }
  }, {
    group: options.groups ? rollGroup(settings.order) : undefined,
    onSettled: window.onSettled,
    onRunning: window.onRunning,
  }).finally(() => stopAll(watches));
  if (outcome.failed.length > 0) throw windowError(outcome, workloads.length);
}

function windowText(settings: RollWorkloadsSettings): string {
  return stepWindow(settings, { timeoutMs: 0, name: String, log: () => {} }).text;
}

/** The roll-workloads step kind. */
export const rollWorkloads = defineStepKind<Step, RollWorkloadsObserved>({
  kind: "roll-workloads",
  schema: RollWorkloadsStep,
  undo: {
    rerun:
      "its pods trust what their namespace's kube-root-ca.crt held: rolled again once it holds the old CA only, they trust the old CA only",
  },
  drift: {
    none:
      "a roll is an event: pods started since hold the CAs of their namespace's kube-root-ca.crt, which wait-root-ca-configmaps and the pod-trust gate check",
  },
  tuning: ["batchSize", "window", "windowStart", "timeoutSeconds", "order"],
  rules(step, plan) {
    // The window as the step sets it over the plan's `workloads` (whose own fields the section's
    // schema checks): reported on the first window field the step sets.
    const field = (["windowStart", "batchSize", "window"] as const).find((name) =>
      step[name] !== undefined
    );
    if (!field) return [];
    const own = (name: string) => name in step ? name : `workloads.${name}`;
    return windowIssues(
      rollWorkloadsSettings(plan.workloads, step),
      { batchSize: own("batchSize"), windowStart: own("windowStart") },
      [field],
    );
  },
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
    const ordered = sortForRoll(workloads, settings);
    if (ctx.dryRun) {
      // computed, not sent: the overlay lays the annotations over the live objects
      await Promise.all(ordered.map((workload) => annotate(ctx, workload, mark)));
      ctx.log.info(
        `would roll ${workloads.length} workloads, ${windowText(settings)}`,
      );
      return;
    }
    ctx.log.info(
      `rolling ${workloads.length} workloads, ${windowText(settings)}`,
    );
    await rollInWindow(ctx, ordered, settings, { mark, patch: true, groups: true });
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
    const all = { ...settings, batchSize: Math.max(1, rolled.length), window: "fixed" as const };
    await rollInWindow(ctx, rolled, all, {
      mark,
      patch: false,
      groups: false,
    });
    ctx.log.info(`${rolled.length} rolled workloads are available`);
  },
});
