/**
 * The exit codes of every command (documented in the README).
 * @module
 */
import { CommanderError } from "@commander-js/extra-typings";
import { InputError } from "../plan/input_error.ts";
import { PlanError } from "../plan/plan_error.ts";
import { InterruptedError } from "../engine/step_error.ts";

/** How a command ended. */
export const ExitCode = {
  /** Done, or nothing to do. */
  Ok: 0,
  /** A failure: the cluster or a node did not do what was asked. */
  Failure: 1,
  /** Bad input: a bad plan, flag or file; nothing was changed. */
  BadInput: 2,
  /** Stopped at a gate with work left (for example kubelets still on the old CA). */
  Gate: 3,
  /** `--dry-run --exit-code`: the plan would change something (as `kubectl diff`'s 1). */
  ChangesPending: 4,
} as const;

/** One of the exit codes. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

export { InputError };

/**
 * The exit code a thrown error ends a command with: a usage error (commander's) or bad input
 * is 2 — help and `--version` are 0 — anything else a failure, 1.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof InterruptedError) {
    // A signal's reason carries its code (130 SIGINT, 143 SIGTERM); a lost lock is a failure.
    const code = (error.reason as { exitCode?: unknown } | undefined)?.exitCode;
    return typeof code === "number" ? code : ExitCode.Failure;
  }
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
  }
  if (error instanceof PlanError || error instanceof InputError) return ExitCode.BadInput;
  return ExitCode.Failure;
}
