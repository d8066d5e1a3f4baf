/**
 * The rollback's own writes, as steps the runner walks like every other (events, safe points,
 * the dry run's overlays): `begin-rollback` records in the progress record when the rollback
 * began, before its first write (node files written after it are the rollback's own), and
 * `finish-rollback`, its last step, deletes the new-CA Secret and marks the record rolled back
 * (its steps and CA fingerprints cleared), so the next `rotate` starts from scratch with a new CA.
 * Both write through the step's cluster API, so a dry run shows them and writes nothing.
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import type { Change, ObjectTarget } from "../engine/change.ts";
import type { ObjectRef } from "../engine/cluster_api.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { Progress } from "../engine/progress.ts";
import type { StepFields } from "../plan/step_format.ts";
import { stepBase } from "../plan/step_format.ts";
import { ConfigMapProgressStore, progressConfigMapRef } from "../state/progress_configmap.ts";
import { newCaSecretName } from "../state/new_ca_secret.ts";

const recordFields = {
  ...stepBase,
  /** The plan's name: the progress record and the new-CA Secret are named after it. */
  plan: z.string(),
  /** When the rollback began (ISO 8601). */
  startedAt: z.string(),
  /** The plan's steps it undoes. */
  undid: z.array(z.string()),
};

const BeginRollbackStep = z.strictObject({ ...recordFields, kind: z.literal("begin-rollback") });
const FinishRollbackStep = z.strictObject({ ...recordFields, kind: z.literal("finish-rollback") });

type RecordStep = z.infer<typeof BeginRollbackStep> | z.infer<typeof FinishRollbackStep>;

const NOT_UNDONE = { nothing: "it records a rollback; a rollback is not rolled back" } as const;

const recordTarget = (plan: string): ObjectTarget => ({
  type: "object",
  ...progressConfigMapRef(plan),
});

const secretRef = (plan: string): ObjectRef => ({
  apiVersion: "v1",
  kind: "Secret",
  namespace: "kube-system",
  name: newCaSecretName(plan),
});

/** The progress record as the step's cluster API has it (in a dry run, the overlay). */
async function loadRecord(
  ctx: StepContext,
  step: RecordStep,
): Promise<{ store: ConfigMapProgressStore; progress: Progress }> {
  const store = new ConfigMapProgressStore(ctx.cluster, step.plan);
  const progress = await store.load();
  if (!progress) throw new Error(`the progress record ${recordTarget(step.plan).name} is gone`);
  return { store, progress };
}

/** What a diff shows of the record: the rollback, the steps recorded and the new CAs' prints. */
function recordView(progress: Progress): string {
  return stringify({
    rollback: progress.rollback ?? null,
    steps: Object.keys(progress.steps),
    caFingerprints: progress.caFingerprints,
  });
}

/** The record once rolled back: finished at `finishedAt`, no step and no new CA left. */
function rolledBack(progress: Progress, step: RecordStep, finishedAt: string): Progress {
  return {
    ...progress,
    rollback: {
      ...(progress.rollback ?? { startedAt: step.startedAt, undid: [...step.undid] }),
      finishedAt,
    },
    steps: {},
    caFingerprints: {},
  };
}

/** The two steps that open and close a rollback of `plan` begun at `startedAt`. */
export function rollbackRecordSteps(
  plan: string,
  startedAt: Date,
  undid: readonly string[],
): { begin: StepFields; finish: StepFields } {
  const fields = { phase: "trust" as const, plan, startedAt: startedAt.toISOString(), undid };
  return {
    begin: BeginRollbackStep.parse({ id: "begin-rollback", kind: "begin-rollback", ...fields }),
    finish: FinishRollbackStep.parse({ id: "finish-rollback", kind: "finish-rollback", ...fields }),
  };
}

/** `begin-rollback`: the progress record says when the rollback began, before its first write. */
export const beginRollback = defineStepKind<z.infer<typeof BeginRollbackStep>, Progress>({
  kind: "begin-rollback",
  schema: BeginRollbackStep,
  undo: NOT_UNDONE,
  drift: { none: "a rollback's own record: a rollback re-checks nothing" },

  observe: async (ctx, step) => (await loadRecord(ctx, step)).progress,

  diff: (progress, step): Change[] =>
    progress.rollback ? [] : [{
      action: "update",
      target: recordTarget(step.plan),
      before: recordView(progress),
      after: recordView({
        ...progress,
        rollback: { startedAt: step.startedAt, undid: [...step.undid] },
      }),
      reason: "the record says a rollback began: node files written from now on are its own",
    }],

  async apply(ctx, step) {
    const { store, progress } = await loadRecord(ctx, step);
    progress.rollback ??= { startedAt: step.startedAt, undid: [...step.undid] };
    progress.updatedAt = new Date().toISOString();
    await store.save(progress);
  },

  async verify(ctx, step) {
    if (!(await loadRecord(ctx, step)).progress.rollback) {
      throw new Error("the progress record does not say that a rollback began");
    }
  },
});

interface Closing {
  readonly secret: boolean;
  readonly progress: Progress;
}

/** Whether the new-CA Secret is still there, and whether the record is marked rolled back. */
async function closingState(ctx: StepContext, step: RecordStep): Promise<Closing> {
  const secret = await ctx.cluster.read(secretRef(step.plan)) !== undefined;
  return { secret, progress: (await loadRecord(ctx, step)).progress };
}

/** `finish-rollback`: the new-CA Secret deleted, the progress record marked rolled back. */
export const finishRollback = defineStepKind<z.infer<typeof FinishRollbackStep>, Closing>({
  kind: "finish-rollback",
  schema: FinishRollbackStep,
  undo: NOT_UNDONE,
  drift: { none: "a rollback's own record: a rollback re-checks nothing" },

  observe: closingState,

  diff: (closing, step): Change[] => [
    ...(closing.secret
      ? [{
        action: "delete" as const,
        target: { type: "object" as const, ...secretRef(step.plan) },
        before: "(new CA material)\n",
        sensitive: true,
        reason: "the next rotation starts from scratch with a new CA",
      }]
      : []),
    ...(closing.progress.rollback?.finishedAt ? [] : [{
      action: "update" as const,
      target: recordTarget(step.plan),
      before: recordView(closing.progress),
      after: recordView(rolledBack(closing.progress, step, "(when it finishes)")),
      reason: "the progress record says the rotation was rolled back",
    }]),
  ],

  async apply(ctx, step, changes) {
    if (changes.some((change) => change.action === "delete")) {
      await ctx.cluster.delete(secretRef(step.plan));
    }
    const { store, progress } = await loadRecord(ctx, step);
    const now = new Date().toISOString();
    await store.save({ ...rolledBack(progress, step, now), updatedAt: now });
  },

  async verify(ctx, step) {
    const closing = await closingState(ctx, step);
    if (closing.secret) throw new Error(`Secret kube-system/${secretRef(step.plan).name} is left`);
    if (!closing.progress.rollback?.finishedAt) {
      throw new Error("the progress record is not marked rolled back");
    }
  },
});
