/**
 * The runner: walks a plan's steps in order through observe → diff → apply → verify, skips the
 * steps its progress record says are done, stops after the plan's `stopAfter` phase, and in a
 * dry run walks the whole remaining plan against an overlay.
 *
 * Its parts, as kubeadm's phase runner reads: the walk (here), one step (`_run_step.ts`), a
 * step's waits (`_step_wait.ts`), the round-trip count (`_round_trips.ts`), the progress
 * record of the run (`_run_record.ts`) and the drift re-check at each phase it enters
 * (`_phase_drift.ts`).
 * @module
 */
import type { Change, ChangeAction } from "./change.ts";
import { type EventSink, noEvents } from "./events.ts";
import type { Printer } from "./printer.ts";
import type { ProgressStore } from "./progress.ts";
import type { StepRegistry } from "./registry.ts";
import type { StepContext } from "./step.ts";
import { InterruptedError, StepError } from "./step_error.ts";
import { type Phase, phaseIndex } from "../plan/phase.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { StepFields } from "../plan/step_format.ts";
import { RunRecord } from "./_run_record.ts";
import { RoundTripCount } from "./_round_trips.ts";
import { runStep, safePoint, type StepRun } from "./_run_step.ts";
import { seconds } from "./_event_seconds.ts";
import { type PhaseDrift, recheckPhase } from "./_phase_drift.ts";

export type { PhaseDrift } from "./_phase_drift.ts";

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
  /**
   * Asked before each later phase of the run begins (not the first: the run's own start checked
   * it; not in a dry run): a reason to hold the run there, as a gate holds it, or undefined.
   */
  readonly phaseGate?: (phase: Phase) => Promise<string | undefined>;
  /**
   * Asked before each later phase of the run begins (as `phaseGate`, and before it): the nodes
   * as they are now — a node group found from the cluster gains the Nodes that joined and loses
   * those gone — or why the run holds there. The phase's drift re-check then brings a node
   * that joined to the state of the done steps, as it does any node whose files differ from it.
   */
  readonly nodesAtPhase?: (phase: Phase) => Promise<NodesAtPhase>;
  /**
   * Re-check the done steps at the start of every phase the run enters (src/engine/drift.ts):
   * a drift is re-applied, or holds the run, as each step's kind declares. Default: off (a
   * rollback, a recording dry run); `rotate` turns it on.
   */
  readonly recheckDone?: boolean;
}

/** The nodes of a phase the run enters, or why it holds before it. */
export type NodesAtPhase =
  | { readonly hold: string }
  | Pick<SharedContext, "controlPlane" | "workers">;

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
  /** The drift re-check of each phase the run entered (empty when it re-checks nothing). */
  readonly drift: readonly PhaseDrift[];
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

/**
 * The walk over the plan's steps, as kubeadm's workflow walks its phases: stop at the safe point
 * before each step, stop after `stopAfter`, skip what is done, run the rest ({@link runStep})
 * counting their round trips, and stop at a closed gate.
 */
async function walk(
  deps: RunnerDeps,
  events: EventSink,
  now: () => Date,
  steps: StepChanges[],
  skipped: string[],
): Promise<RunResult> {
  const { loaded, registry, context, printer, signal } = deps;
  const plan = loaded.plan;
  const stopAfter = phaseIndex(plan.stopAfter);

  for (const step of plan.steps) registry.get(step.kind);

  const record = await RunRecord.open(deps, now);
  let run: StepRun = { deps, events, now, record, applied: (changes) => steps.push(changes) };
  const roundTrips = new RoundTripCount([...context.controlPlane, ...context.workers]);
  const drift: PhaseDrift[] = [];
  let firstPending: RunResult["next"];
  /** The run held at a gate before (or in) `at`, the step a next run starts with. */
  const heldAt = (at: NonNullable<RunResult["next"]>, gate: string): RunResult => ({
    outcome: "gate",
    steps,
    skipped,
    gate,
    gateStep: at.step,
    next: at,
    roundTrips: roundTrips.steps(),
    drift,
  });
  /** The phase of the last step this run ran. */
  let phase: Phase | undefined;

  for (const step of plan.steps) {
    safePoint(signal);
    const next = { step: step.id, phase: step.phase };
    if (!context.dryRun && phaseIndex(step.phase) > stopAfter) {
      printer.info(`stopping after phase "${plan.stopAfter}" (stopAfter); next: ${step.id}`);
      await events.emit({ type: "StoppedAfterPhase", stopAfter: plan.stopAfter, next });
      return { outcome: "done", steps, skipped, next, roundTrips: roundTrips.steps(), drift };
    }
    if (record.step(step.id)?.status === "done") {
      skipped.push(step.id);
      await events.emit({ type: "StepSkipped", step: step.id, phase: step.phase });
      continue;
    }
    // A later phase of this run begins: its nodes are found again, and the phase gate may hold it.
    if (phase !== undefined && phase !== step.phase && !context.dryRun) {
      const nodes = await deps.nodesAtPhase?.(step.phase);
      if (nodes && "hold" in nodes) {
        return heldAt(next, await reportHold(deps, events, step, nodes.hold));
      }
      if (nodes) {
        run = { ...run, deps: { ...run.deps, context: { ...run.deps.context, ...nodes } } };
        roundTrips.add([...nodes.controlPlane, ...nodes.workers]);
      }
      const held = await phaseHeld(deps, events, step);
      if (held !== undefined) return heldAt(next, held);
    }
    // The run enters a phase (in a dry run: only the first, as the nodes are now): what the
    // done steps made is re-checked before anything else of the phase changes.
    if (deps.recheckDone && phase !== step.phase && (phase === undefined || !context.dryRun)) {
      const rechecked = await recheckPhase(run, step);
      drift.push(rechecked.drift);
      if (rechecked.gate !== undefined) return heldAt(next, rechecked.gate);
    }
    phase = step.phase;
    firstPending ??= next;
    const { gate } = await roundTrips.of(step.id, () => runStep(run, step));
    if (gate !== undefined) return heldAt(next, gate);
  }
  return {
    outcome: "done",
    steps,
    skipped,
    ...(context.dryRun && firstPending ? { next: firstPending } : {}),
    roundTrips: roundTrips.steps(),
    drift,
  };
}

/**
 * The reason the run holds before `step`, the first of its phase in this run (the phase gate's
 * answer, reported as a gate of that step), or undefined.
 */
async function phaseHeld(
  deps: RunnerDeps,
  events: EventSink,
  step: StepFields,
): Promise<string | undefined> {
  const held = await deps.phaseGate?.(step.phase);
  if (held === undefined) return undefined;
  return await reportHold(deps, events, step, held);
}

/** Reports a hold before `step` as a gate of it; returns the message. */
async function reportHold(
  deps: RunnerDeps,
  events: EventSink,
  step: StepFields,
  held: string,
): Promise<string> {
  deps.printer.warn(`[${step.id}] ${held}`);
  await events.emit({ type: "GateReached", step: step.id, phase: step.phase, message: held });
  return held;
}

/** Changes by action, over every step. */
function countByAction(steps: readonly StepChanges[]): Partial<Record<ChangeAction, number>> {
  const counts: Partial<Record<ChangeAction, number>> = {};
  for (const change of steps.flatMap((step) => step.changes)) {
    counts[change.action] = (counts[change.action] ?? 0) + 1;
  }
  return counts;
}
