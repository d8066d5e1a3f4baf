/**
 * One step of a run, as kubeadm's workflow runs a phase: its record (`running`, then `done`,
 * `blocked`, `interrupted` or `failed`), its events, and observe → diff → apply → verify over a
 * narrow context, with a safe point before the apply. A failure comes out as a
 * {@linkcode StepError} naming the step and stage, a stop at the run's signal as an
 * {@linkcode InterruptedError}; a closed gate is an outcome, not an error.
 * @module
 */
import { hasChanges, targetName } from "./change.ts";
import type { EventSink } from "./events.ts";
import { stepPrinter } from "./printer.ts";
import type { StepProgress } from "./progress.ts";
import type { RunnerDeps, StepChanges } from "./runner.ts";
import type { StepContext } from "./step.ts";
import { GateClosedError, InterruptedError, StepError, type StepStage } from "./step_error.ts";
import type { StepFields } from "../plan/step_format.ts";
import type { RunRecord } from "./_run_record.ts";
import { stepWaits } from "./_step_wait.ts";
import { seconds } from "./_event_seconds.ts";

/** What a step's run takes from the walk. */
export interface StepRun {
  readonly deps: RunnerDeps;
  readonly events: EventSink;
  readonly now: () => Date;
  readonly record: RunRecord;
  /** Takes the step's changes once they are applied (before its verify). */
  readonly applied: (changes: StepChanges) => void;
}

/** How a step ended that did not throw: done, or held at its gate (the gate's message). */
export interface StepOutcome {
  readonly gate?: string;
}

/** A safe point: throws {@linkcode InterruptedError} when the run's signal has aborted. */
export function safePoint(signal: AbortSignal | undefined, stepId?: string): void {
  if (signal?.aborted) throw new InterruptedError(stepId, signal.reason);
}

/** Runs one step that is not done yet; in a dry run it records nothing and does not verify. */
export async function runStep(run: StepRun, step: StepFields): Promise<StepOutcome> {
  const { deps, events, now, record } = run;
  const dryRun = deps.context.dryRun;
  const kind = deps.registry.get(step.kind);
  const stepBegan = now().getTime();
  const ctx = stepContext(run, step, stepBegan);
  const attempt: StepProgress = {
    status: "running",
    attempts: (record.step(step.id)?.attempts ?? 0) + 1,
    digest: deps.loaded.stepDigests[step.id],
    startedAt: new Date(stepBegan).toISOString(),
  };
  await record.set(step.id, attempt);
  await events.emit({
    type: "StepStarted",
    step: step.id,
    phase: step.phase,
    stepKind: step.kind,
    attempt: attempt.attempts,
  });
  let stage: StepStage = "observe";
  try {
    ctx.log.info(`${dryRun ? "planning" : "running"} ${step.kind} (phase ${step.phase})`);
    const observed = await kind.observe(ctx, step);
    stage = "diff";
    const changes = kind.diff(observed, step);
    if (hasChanges(changes)) {
      safePoint(deps.signal, step.id);
      stage = "apply";
      await kind.apply(ctx, step, changes);
      run.applied({ stepId: step.id, phase: step.phase, kind: step.kind, changes });
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
      ctx.log.info("nothing to change");
    }
    if (!dryRun) {
      stage = "verify";
      await kind.verify(ctx, step);
      await record.set(step.id, {
        ...attempt,
        status: "done",
        finishedAt: now().toISOString(),
        changes: changes.length,
      });
      ctx.log.info(`done (${changes.length} changes)`);
    }
    await events.emit({
      type: "StepDone",
      step: step.id,
      phase: step.phase,
      changes: hasChanges(changes) ? changes.length : 0,
      durationSeconds: seconds(now().getTime() - stepBegan),
    });
    return {};
  } catch (error) {
    return await stepThrew(run, step, ctx, attempt, stage, error);
  }
}

/** The narrow context the step sees: the shared one, with its id, log and waits. */
function stepContext(run: StepRun, step: StepFields, stepBegan: number): StepContext {
  const { deps, events, now, record } = run;
  const log = stepPrinter(deps.printer, step.id);
  return {
    ...deps.context,
    rotationStartedAt: record.rotationStartedAt,
    stepFinishedAt: (stepId) => record.finishedAt(stepId),
    stepId: step.id,
    log,
    ...stepWaits({
      stepId: step.id,
      dryRun: deps.context.dryRun,
      stepBegan,
      log,
      emit: (event) => void events.emit(event),
      now,
      signal: deps.signal,
    }),
  };
}

/**
 * A step that threw in `stage`: stopped at the run's signal (recorded `interrupted`, thrown), held
 * at its gate (recorded `blocked`, returned) or failed (recorded `failed`, thrown as a
 * {@linkcode StepError}).
 */
async function stepThrew(
  run: StepRun,
  step: StepFields,
  ctx: StepContext,
  attempt: StepProgress,
  stage: StepStage,
  error: unknown,
): Promise<StepOutcome> {
  const { deps, events, record } = run;
  const { signal } = deps;
  const dryRun = deps.context.dryRun;
  if (error instanceof InterruptedError || (signal?.aborted && !dryRun)) {
    const interrupted = error instanceof InterruptedError
      ? new InterruptedError(step.id, error.reason)
      : new InterruptedError(step.id, signal!.reason);
    const reason = interrupted.message.replace(/^\[[^\]]*\] interrupted: /, "");
    await record.set(step.id, { ...attempt, status: "interrupted", error: reason });
    ctx.log.warn(`interrupted (${reason}); the next run resumes this step`);
    await events.emit({ type: "StepInterrupted", step: step.id, phase: step.phase, reason });
    throw interrupted;
  }
  if (error instanceof GateClosedError) {
    await record.set(step.id, { ...attempt, status: "blocked", error: error.message });
    await events.emit({
      type: "GateReached",
      step: step.id,
      phase: step.phase,
      message: error.message,
    });
    return { gate: error.message };
  }
  const wrapped = error instanceof StepError ? error : new StepError(step.id, stage, error);
  await record.set(step.id, { ...attempt, status: "failed", error: wrapped.message });
  await events.emit({
    type: "StepFailed",
    step: step.id,
    phase: step.phase,
    stage: wrapped.stage,
    error: wrapped.message,
  });
  throw wrapped;
}
