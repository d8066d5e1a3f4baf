/**
 * Where a rotation stands and what the next `rotate` would do, from the plan and the progress
 * record alone (pure: `status` and its JSON show it).
 * @module
 */
import type { StepProgress } from "../engine/progress.ts";
import { type Phase, phaseIndex, PHASES } from "../plan/phase.ts";

/** A step of the plan with its record, as `standing` reads them. */
export interface PlannedStep {
  readonly id: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly record?: StepProgress;
}

/** What the next run does with the first step not done. */
export type NextAction =
  | "run" // start it (pending)
  | "resume" // it was left running: an interrupted run, or one that runs now
  | "retry" // it failed
  | "recheck-gate" // a gate held it
  | "wait-for-stop-after" // nothing: the next step is in a phase after stopAfter
  | "none"; // nothing: every step is done

/** Where the rotation stands. */
export interface Standing {
  /** The phase the rotation is in (of its first step not done), or `complete`. */
  readonly phase: Phase | "complete";
  /** The phases every step of which is done. */
  readonly phasesDone: readonly Phase[];
  readonly next: {
    readonly action: NextAction;
    /** The first step not done (absent when every step is). */
    readonly step?: string;
    readonly stepPhase?: Phase;
    /** Since when it has been running (RFC 3339), for `resume`. */
    readonly runningSince?: string;
    /** The same in a sentence. */
    readonly message: string;
  };
}

/** Where a plan's rotation stands, given its steps with their records and its `stopAfter`. */
export function standing(
  steps: readonly PlannedStep[],
  stopAfter: Phase,
  now: Date = new Date(),
): Standing {
  const phasesDone = PHASES.filter((phase) => {
    const of = steps.filter((step) => step.phase === phase);
    return of.length > 0 && of.every((step) => step.record?.status === "done");
  });
  const first = steps.find((step) => step.record?.status !== "done");
  if (!first) {
    return {
      phase: "complete",
      phasesDone,
      next: { action: "none", message: "nothing: every step of the plan is done" },
    };
  }
  const where = { step: first.id, stepPhase: first.phase };
  const record = first.record;
  if (phaseIndex(first.phase) > phaseIndex(stopAfter)) {
    return {
      phase: first.phase,
      phasesDone,
      next: {
        action: "wait-for-stop-after",
        ...where,
        message: `nothing until stopAfter moves to "${first.phase}" (it is "${stopAfter}"); ` +
          `then it starts at ${first.id}`,
      },
    };
  }
  const upTo = `and goes on up to phase "${stopAfter}"`;
  switch (record?.status) {
    case "running": {
      const since = record.startedAt;
      const forHow = since ? ` for ${duration(now.getTime() - Date.parse(since))}` : "";
      return {
        phase: first.phase,
        phasesDone,
        next: {
          action: "resume",
          ...where,
          ...(since ? { runningSince: since } : {}),
          message: `resumes ${first.id}, running${forHow}` +
            `${since ? ` (since ${since})` : ""} — by a run that holds the lock now, or one that ` +
            `was interrupted — ${upTo}`,
        },
      };
    }
    case "interrupted":
      return {
        phase: first.phase,
        phasesDone,
        next: {
          action: "resume",
          ...where,
          message: `resumes ${first.id}, which was interrupted (${record.error ?? "no reason"}), ` +
            upTo,
        },
      };
    case "failed":
      return {
        phase: first.phase,
        phasesDone,
        next: {
          action: "retry",
          ...where,
          message: `retries ${first.id}, which failed (attempt ${record.attempts}), ${upTo}`,
        },
      };
    case "blocked":
      return {
        phase: first.phase,
        phasesDone,
        next: {
          action: "recheck-gate",
          ...where,
          message: `checks the gate ${first.id} again and goes on once it opens, ${upTo}`,
        },
      };
    default:
      return {
        phase: first.phase,
        phasesDone,
        next: { action: "run", ...where, message: `starts at ${first.id} ${upTo}` },
      };
  }
}

/** `1h02m`, `3m05s`, `12s`. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
