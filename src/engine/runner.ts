/**
 * The runner: walks a plan's steps in order through observe → diff → apply → verify, skips the
 * steps its progress record says are done, stops after the plan's `stopAfter` phase, and in a
 * dry run walks the whole remaining plan against an overlay.
 * @module
 */
import { type Change, type ChangeAction, hasChanges, targetName } from "./change.ts";
import {
  type EventSink,
  noEvents,
  type RunEvent,
  waitCounts,
  waitDone,
  type WaitState,
} from "./events.ts";
import { type Printer, stepPrinter } from "./printer.ts";
import type { Progress, ProgressStore, StepProgress } from "./progress.ts";
import type { StepRegistry } from "./registry.ts";
import type { StepContext } from "./step.ts";
import { GateClosedError, InterruptedError, StepError, type StepStage } from "./step_error.ts";
import { planDrift } from "./plan_drift.ts";
import { type Phase, phaseIndex } from "../plan/phase.ts";
import type { LoadedPlan } from "../plan/load.ts";

/** The parts of a step's context that are the same for every step. */
export type SharedContext = Omit<
  StepContext,
  "stepId" | "log" | "waitFor" | "progress" | "rotationStartedAt"
>;

/** What the runner needs. */
export interface RunnerDeps {
  readonly loaded: LoadedPlan;
  readonly registry: StepRegistry;
  readonly store: ProgressStore;
  readonly context: SharedContext;
  readonly printer: Printer;
  /** Where the run's structured events go, beside the printer (default: nowhere). */
  readonly events?: EventSink;
  /** The clock, for timestamps (tests fix it). */
  readonly now?: () => Date;
  /**
   * When it aborts (a SIGINT or SIGTERM, the run lock lost), the run stops at the next safe
   * point — before a step, before an apply, or while waiting — and records the step as
   * `interrupted` with the reason; the runner then throws {@link InterruptedError}.
   */
  readonly signal?: AbortSignal;
}

/** The changes of one step, as a dry run shows them. */
export interface StepChanges {
  readonly stepId: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly changes: readonly Change[];
}

/** The remote round trips (ssh) one step made, per node. */
export interface StepRoundTrips {
  readonly stepId: string;
  /** Every round trip of the step. */
  readonly total: number;
  /** The most any one node took. */
  readonly maxPerNode: number;
  /** By node name (nodes with none left out). */
  readonly perNode: Readonly<Record<string, number>>;
}

/** How a run ended. */
export type RunOutcome = "done" | "gate";

/** The result of a run. */
export interface RunResult {
  readonly outcome: RunOutcome;
  /** Every step that had something to do, with its changes. */
  readonly steps: readonly StepChanges[];
  readonly skipped: readonly string[];
  /** The gate's message when the outcome is "gate". */
  readonly gate?: string;
  /** The id of the gate step that held the run when the outcome is "gate". */
  readonly gateStep?: string;
  /**
   * The first step a next run would start with (the gate's step, or the first step after
   * `stopAfter`); absent when nothing of the plan is left. In a dry run: the first step not done.
   */
  readonly next?: { readonly step: string; readonly phase: Phase };
  /** Remote round trips per step that ran (empty when no node counts them). */
  readonly roundTrips: readonly StepRoundTrips[];
}

/** Runs the plan; in a dry run (context.dryRun) writes nothing and ignores `stopAfter`. */
export async function runPlan(deps: RunnerDeps): Promise<RunResult> {
  const now = deps.now ?? (() => new Date());
  const events = deps.events ?? noEvents;
  const plan = deps.loaded.plan;
  const began = now().getTime();
  const steps: StepChanges[] = [];
  const skipped: string[] = [];
  const finished = async (
    outcome: "done" | "gate" | "failed" | "interrupted",
    next?: RunResult["next"],
  ) =>
    await events.emit({
      type: "RunFinished",
      outcome,
      dryRun: deps.context.dryRun,
      changes: countByAction(steps),
      stepsChanged: steps.length,
      stepsSkipped: skipped.length,
      ...(next ? { next } : {}),
      durationSeconds: seconds(now().getTime() - began),
    });
  await events.emit({
    type: "RunStarted",
    plan: plan.metadata.name,
    planFile: deps.loaded.path,
    dryRun: deps.context.dryRun,
    stopAfter: plan.stopAfter,
    steps: plan.steps.map((step) => ({ id: step.id, phase: step.phase, stepKind: step.kind })),
  });
  let result: RunResult;
  try {
    result = await walk(deps, events, now, steps, skipped);
  } catch (error) {
    const stepId = error instanceof StepError || error instanceof InterruptedError
      ? error.stepId
      : undefined;
    const failedStep = plan.steps.find((step) => step.id === stepId);
    await finished(
      error instanceof InterruptedError ? "interrupted" : "failed",
      failedStep && { step: failedStep.id, phase: failedStep.phase },
    );
    throw error;
  }
  await finished(result.outcome, result.next);
  return result;
}

async function walk(
  deps: RunnerDeps,
  events: EventSink,
  now: () => Date,
  steps: StepChanges[],
  skipped: string[],
): Promise<RunResult> {
  const { loaded, registry, store, context, printer, signal } = deps;
  const plan = loaded.plan;
  const dryRun = context.dryRun;
  /** A safe point: stop here if the run's signal aborted. */
  const safePoint = (stepId?: string) => {
    if (signal?.aborted) throw new InterruptedError(stepId, signal.reason);
  };
  const stopAfter = phaseIndex(plan.stopAfter);

  for (const step of plan.steps) registry.get(step.kind);

  const progress = await loadProgress(deps);
  const rotationStartedAt = firstStart(progress) ?? now();
  let firstPending: RunResult["next"];
  const roundTrips: StepRoundTrips[] = [];
  const nodes = [...context.controlPlane, ...context.workers];
  const counted = () => roundTrips.some((each) => each.total > 0) ? roundTrips : [];

  for (const step of plan.steps) {
    safePoint();
    if (!dryRun && phaseIndex(step.phase) > stopAfter) {
      printer.info(`stopping after phase "${plan.stopAfter}" (stopAfter); next: ${step.id}`);
      const next = { step: step.id, phase: step.phase };
      await events.emit({ type: "StoppedAfterPhase", stopAfter: plan.stopAfter, next });
      return { outcome: "done", steps, skipped, next, roundTrips: counted() };
    }
    const record = progress.steps[step.id];
    if (record?.status === "done") {
      skipped.push(step.id);
      await events.emit({ type: "StepSkipped", step: step.id, phase: step.phase });
      continue;
    }
    firstPending ??= { step: step.id, phase: step.phase };
    const log = stepPrinter(printer, step.id);
    const kind = registry.get(step.kind);
    const emit = (event: RunEvent) => void events.emit(event);
    const stepBegan = now().getTime();
    const ctx: StepContext = {
      ...context,
      rotationStartedAt,
      stepId: step.id,
      log,
      waitFor: (description, condition, timeoutMs) =>
        dryRun
          ? Promise.resolve()
          : waitFor(log, emit, step.id, description, condition, timeoutMs, now, signal),
      progress: (description, ready, total, deadline) => {
        if (dryRun) return;
        emit({
          type: "Waiting",
          step: step.id,
          description,
          since: new Date(stepBegan).toISOString(),
          deadline: new Date(deadline).toISOString(),
          elapsedSeconds: seconds(now().getTime() - stepBegan),
          ready,
          total,
        });
      },
    };
    const started = new Date(stepBegan).toISOString();
    const attempt: StepProgress = {
      status: "running",
      attempts: (record?.attempts ?? 0) + 1,
      digest: loaded.stepDigests[step.id],
      startedAt: started,
    };
    if (!dryRun) {
      progress.steps[step.id] = attempt;
      await save(store, progress, now);
    }
    await events.emit({
      type: "StepStarted",
      step: step.id,
      phase: step.phase,
      stepKind: step.kind,
      attempt: attempt.attempts,
    });
    let stage: StepStage = "observe";
    const countBefore = countRoundTrips(nodes);
    try {
      log.info(`${dryRun ? "planning" : "running"} ${step.kind} (phase ${step.phase})`);
      const observed = await kind.observe(ctx, step);
      stage = "diff";
      const changes = kind.diff(observed, step);
      if (hasChanges(changes)) {
        safePoint(step.id);
        stage = "apply";
        await kind.apply(ctx, step, changes);
        steps.push({ stepId: step.id, phase: step.phase, kind: step.kind, changes });
        for (const change of changes) {
          await events.emit({
            type: "ChangeApplied",
            step: step.id,
            action: change.action,
            targetType: change.target.type,
            target: targetName(change.target),
            ...(change.reason ? { reason: change.reason } : {}),
          });
        }
      } else {
        log.info("nothing to change");
      }
      if (!dryRun) {
        stage = "verify";
        await kind.verify(ctx, step);
        progress.steps[step.id] = {
          ...attempt,
          status: "done",
          finishedAt: now().toISOString(),
          changes: changes.length,
        };
        await save(store, progress, now);
        log.info(`done (${changes.length} changes)`);
      }
      await events.emit({
        type: "StepDone",
        step: step.id,
        phase: step.phase,
        changes: hasChanges(changes) ? changes.length : 0,
        durationSeconds: seconds(now().getTime() - stepBegan),
      });
    } catch (error) {
      if (error instanceof InterruptedError || (signal?.aborted && !dryRun)) {
        const interrupted = error instanceof InterruptedError
          ? new InterruptedError(step.id, error.reason)
          : new InterruptedError(step.id, signal!.reason);
        const reason = interrupted.message.replace(/^\[[^\]]*\] interrupted: /, "");
        if (!dryRun) {
          progress.steps[step.id] = { ...attempt, status: "interrupted", error: reason };
          await save(store, progress, now);
        }
        log.warn(`interrupted (${reason}); the next run resumes this step`);
        await events.emit({ type: "StepInterrupted", step: step.id, phase: step.phase, reason });
        throw interrupted;
      }
      if (error instanceof GateClosedError) {
        if (!dryRun) {
          progress.steps[step.id] = { ...attempt, status: "blocked", error: error.message };
          await save(store, progress, now);
        }
        roundTrips.push(stepRoundTrips(step.id, countBefore, countRoundTrips(nodes)));
        await events.emit({
          type: "GateReached",
          step: step.id,
          phase: step.phase,
          message: error.message,
        });
        const next = { step: step.id, phase: step.phase };
        return {
          outcome: "gate",
          steps,
          skipped,
          gate: error.message,
          gateStep: step.id,
          next,
          roundTrips: counted(),
        };
      }
      const wrapped = error instanceof StepError ? error : new StepError(step.id, stage, error);
      if (!dryRun) {
        progress.steps[step.id] = { ...attempt, status: "failed", error: wrapped.message };
        await save(store, progress, now);
      }
      await events.emit({
        type: "StepFailed",
        step: step.id,
        phase: step.phase,
        stage: wrapped.stage,
        error: wrapped.message,
      });
      throw wrapped;
    }
    roundTrips.push(stepRoundTrips(step.id, countBefore, countRoundTrips(nodes)));
  }
  return {
    outcome: "done",
    steps,
    skipped,
    ...(dryRun && firstPending ? { next: firstPending } : {}),
    roundTrips: counted(),
  };
}

/** Each counting node's round trips so far, by name. */
function countRoundTrips(nodes: readonly { name: string; roundTrips?(): number }[]) {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    if (node.roundTrips) counts.set(node.name, node.roundTrips());
  }
  return counts;
}

function stepRoundTrips(
  stepId: string,
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): StepRoundTrips {
  const perNode: Record<string, number> = {};
  for (const [name, count] of after) {
    const made = count - (before.get(name) ?? 0);
    if (made > 0) perNode[name] = made;
  }
  const made = Object.values(perNode);
  return {
    stepId,
    total: made.reduce((sum, count) => sum + count, 0),
    maxPerNode: Math.max(0, ...made),
    perNode,
  };
}

/** Changes by action, over every step. */
function countByAction(steps: readonly StepChanges[]): Partial<Record<ChangeAction, number>> {
  const counts: Partial<Record<ChangeAction, number>> = {};
  for (const change of steps.flatMap((step) => step.changes)) {
    counts[change.action] = (counts[change.action] ?? 0) + 1;
  }
  return counts;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function loadProgress(deps: RunnerDeps): Promise<Progress> {
  const { loaded, store, context } = deps;
  const caFingerprints = context.cas.fingerprints();
  const existing = await store.load();
  if (existing) {
    const problems = planDrift(existing, {
      name: loaded.plan.metadata.name,
      stepDigests: loaded.stepDigests,
      caFingerprints,
    });
    if (problems.length > 0) {
      throw new Error(
        `Cannot run plan "${loaded.path}" against the rotation recorded in the cluster:\n  ` +
          problems.join("\n  "),
      );
    }
  }
  return {
    plan: loaded.plan.metadata.name,
    planDigest: loaded.digest,
    caFingerprints: { ...existing?.caFingerprints, ...caFingerprints },
    stopAfter: loaded.plan.stopAfter,
    steps: existing?.steps ?? {},
  };
}

/** The earliest start recorded for any step: when the rotation began. */
function firstStart(progress: Progress): Date | undefined {
  const starts = Object.values(progress.steps)
    .map((record) => record.startedAt ? Date.parse(record.startedAt) : NaN)
    .filter((time) => !Number.isNaN(time));
  return starts.length ? new Date(Math.min(...starts)) : undefined;
}

async function save(store: ProgressStore, progress: Progress, now: () => Date): Promise<void> {
  progress.updatedAt = now().toISOString();
  await store.save(progress);
}

/** How often a long wait says it is still waiting (text line and event). */
const REPORT_EVERY_MS = 10_000;

async function waitFor(
  log: Printer,
  emit: (event: RunEvent) => void,
  stepId: string,
  description: string,
  condition: () => Promise<WaitState>,
  timeoutMs: number,
  now: () => Date,
  signal?: AbortSignal,
): Promise<void> {
  const began = now().getTime();
  const deadline = began + timeoutMs;
  let lastReport = began;
  let lastCounts = "";
  let delay = 250;
  const report = (state: WaitState | undefined) => {
    const counts = state === undefined ? undefined : waitCounts(state);
    lastCounts = counts ? `${counts.ready}/${counts.total}` : "";
    emit({
      type: "Waiting",
      step: stepId,
      description,
      since: new Date(began).toISOString(),
      deadline: new Date(deadline).toISOString(),
      elapsedSeconds: seconds(now().getTime() - began),
      ...counts,
    });
  };
  log.info(`waiting for ${description}`);
  report(undefined);
  for (;;) {
    if (signal?.aborted) throw new InterruptedError(stepId, signal.reason);
    const state = await condition();
    if (waitDone(state)) return;
    const counts = waitCounts(state);
    const moved = counts !== undefined && `${counts.ready}/${counts.total}` !== lastCounts;
    const current = now().getTime();
    if (current > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${description}` +
          (counts ? ` (${counts.ready} of ${counts.total} ready)` : ""),
      );
    }
    if (current - lastReport > REPORT_EVERY_MS) {
      log.info(
        `still waiting for ${description}${counts ? ` (${counts.ready}/${counts.total})` : ""}`,
      );
      lastReport = current;
      report(state);
    } else if (moved) {
      report(state);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 2_000);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
