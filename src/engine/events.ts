/**
 * The structured record of a run: the runner and its waits emit typed events through one
 * injected {@link EventSink}, beside the text printer. The engine knows no output format; a
 * sink renders them (JSON lines, a live terminal line, Kubernetes Events, a Markdown summary).
 * Events carry names, counts and messages only — never file contents or key material.
 * @module
 */
import type { ChangeAction } from "./change.ts";
import type { Phase } from "../plan/phase.ts";
import type { StepStage } from "./step_error.ts";

/** A run began: what it runs and how far it goes. */
export interface RunStartedEvent {
  readonly type: "RunStarted";
  readonly plan: string;
  readonly planFile: string;
  readonly dryRun: boolean;
  /** The plan's `stopAfter` (a dry run walks every phase regardless). */
  readonly stopAfter: Phase;
  /** Every step of the plan, in order. */
  readonly steps: readonly {
    readonly id: string;
    readonly phase: Phase;
    readonly stepKind: string;
  }[];
}

/** A step began (it was not recorded as done). */
export interface StepStartedEvent {
  readonly type: "StepStarted";
  readonly step: string;
  readonly phase: Phase;
  /** The step's kind, e.g. `distribute-ca`. */
  readonly stepKind: string;
  /** 1 for the first attempt; more when an earlier run failed or stopped in it. */
  readonly attempt: number;
}

/** A step was skipped: the progress record says it is done. */
export interface StepSkippedEvent {
  readonly type: "StepSkipped";
  readonly step: string;
  readonly phase: Phase;
}

/** One change was applied (in a dry run: laid over the overlay, i.e. planned). */
export interface ChangeAppliedEvent {
  readonly type: "ChangeApplied";
  readonly step: string;
  readonly action: ChangeAction;
  /** The target's kind: file, object, component or workload. */
  readonly targetType: string;
  /** The target's name, e.g. `cp-1:/etc/kubernetes/pki/ca.crt` or `Deployment/team-a/web`. */
  readonly target: string;
  readonly reason?: string;
}

/** A step waits for a condition: emitted when the wait begins, as counts move, and every 10 s. */
export interface WaitingEvent {
  readonly type: "Waiting";
  readonly step: string;
  readonly description: string;
  /** When this wait began (RFC 3339). */
  readonly since: string;
  /** When it gives up (RFC 3339). */
  readonly deadline: string;
  readonly elapsedSeconds: number;
  /** How many of `total` are ready, when the condition counts. */
  readonly ready?: number;
  readonly total?: number;
}

/** A step finished and its postcondition holds (in a dry run: it was planned). */
export interface StepDoneEvent {
  readonly type: "StepDone";
  readonly step: string;
  readonly phase: Phase;
  /** How many changes it made (planned, in a dry run). */
  readonly changes: number;
  readonly durationSeconds: number;
}

/** A gate stopped the run with work left (exit 3). */
export interface GateReachedEvent {
  readonly type: "GateReached";
  readonly step: string;
  readonly phase: Phase;
  readonly message: string;
}

/** A step failed (exit 1). */
export interface StepFailedEvent {
  readonly type: "StepFailed";
  readonly step: string;
  readonly phase: Phase;
  readonly stage: StepStage;
  readonly error: string;
}

/** The run was stopped at a safe point of a step (a signal, or the run lock lost). */
export interface StepInterruptedEvent {
  readonly type: "StepInterrupted";
  readonly step: string;
  readonly phase: Phase;
  readonly reason: string;
}

/** The run stopped before a later phase because of `stopAfter`. */
export interface PhaseStopEvent {
  readonly type: "StoppedAfterPhase";
  readonly stopAfter: Phase;
  /** The first step the next run (with `stopAfter` moved) would run. */
  readonly next: { readonly step: string; readonly phase: Phase };
}

/**
 * At the start of a phase the run enters, a file or object is no longer what done steps made
 * (src/engine/drift.ts): re-applied, or the run holds (a `GateReached` follows).
 */
export interface DriftFoundEvent {
  readonly type: "DriftFound";
  /** The phase whose start re-checked it. */
  readonly phase: Phase;
  /** The done steps that made it, in plan order. */
  readonly steps: readonly string[];
  /** file or object. */
  readonly targetType: string;
  /** The target's name, e.g. `cp-1:/etc/kubernetes/scheduler.conf`. */
  readonly target: string;
  /** What the steps want of it. */
  readonly reasons: readonly string[];
  /** `reapply`: the steps run again; `hold`: the run holds before anything else changes. */
  readonly action: "reapply" | "hold";
}

/** How the run ended; always the last event of a run that got as far as the runner. */
export interface RunFinishedEvent {
  readonly type: "RunFinished";
  readonly outcome: "done" | "gate" | "failed" | "interrupted";
  readonly dryRun: boolean;
  /** Changes by action, over every step that had something to do. */
  readonly changes: Readonly<Partial<Record<ChangeAction, number>>>;
  readonly stepsChanged: number;
  readonly stepsSkipped: number;
  /** The step a next run would start with; absent when the plan is done. */
  readonly next?: { readonly step: string; readonly phase: Phase };
  readonly durationSeconds: number;
}

/** Every event of a run. */
export type RunEvent =
  | RunStartedEvent
  | StepStartedEvent
  | StepSkippedEvent
  | ChangeAppliedEvent
  | WaitingEvent
  | StepDoneEvent
  | GateReachedEvent
  | StepFailedEvent
  | StepInterruptedEvent
  | PhaseStopEvent
  | DriftFoundEvent
  | RunFinishedEvent;

/** The name of an event type. */
export type RunEventType = RunEvent["type"];

/**
 * Where events go. `emit` may be asynchronous (a Kubernetes Event is an API call); the runner
 * waits for it, so a sink sees events in order. A sink must not throw for a failed write of its
 * own: the run matters more than its record.
 */
export interface EventSink {
  emit(event: RunEvent): void | Promise<void>;
}

/** A sink that drops everything (the default). */
export const noEvents: EventSink = { emit: () => {} };

/** Sends each event to every sink, one after the other. */
export function fanOut(...sinks: readonly (EventSink | undefined)[]): EventSink {
  const present = sinks.filter((sink): sink is EventSink => sink !== undefined);
  return {
    async emit(event) {
      for (const sink of present) await sink.emit(event);
    },
  };
}

/** Collects events in memory (tests). */
export function memoryEvents(): EventSink & { readonly events: RunEvent[] } {
  const events: RunEvent[] = [];
  return { events, emit: (event) => void events.push(event) };
}

/**
 * What a wait's condition may return: plain `true`/`false`, or whether it holds with how many
 * of how many things are ready (shown as progress counts).
 */
export type WaitState = boolean | {
  readonly done: boolean;
  readonly ready: number;
  readonly total: number;
};

/** Whether a wait's condition holds. */
export function waitDone(state: WaitState): boolean {
  return typeof state === "boolean" ? state : state.done;
}

/** The counts of a wait's state, when it has them. */
export function waitCounts(state: WaitState): { ready: number; total: number } | undefined {
  return typeof state === "boolean" ? undefined : { ready: state.ready, total: state.total };
}
