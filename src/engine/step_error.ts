/**
 * Errors raised while a step runs, wrapped with the step id and the stage that failed.
 * @module
 */

/** The stages of the step contract. */
export type StepStage = "observe" | "diff" | "apply" | "verify";

/** An error in one stage of one step: `[step-id] apply: <cause>`. */
export class StepError extends Error {
  constructor(
    readonly stepId: string,
    readonly stage: StepStage,
    override readonly cause: unknown,
  ) {
    super(`[${stepId}] ${stage}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "StepError";
  }
}

/** A gate that holds the run: work is left, nothing failed (exit code 3). */
export class GateClosedError extends Error {
  constructor(readonly stepId: string, message: string) {
    super(`[${stepId}] gate closed: ${message}`);
    this.name = "GateClosedError";
  }
}

/**
 * The run was stopped at a safe point (between steps, before an apply, or while waiting)
 * because its signal aborted: a SIGINT or SIGTERM, or the run lock lost. `reason` is the
 * signal's reason.
 */
export class InterruptedError extends Error {
  constructor(readonly stepId: string | undefined, readonly reason: unknown) {
    super(
      `${stepId ? `[${stepId}] ` : ""}interrupted: ${
        reason instanceof Error ? reason.message : String(reason ?? "aborted")
      }`,
    );
    this.name = "InterruptedError";
  }
}
