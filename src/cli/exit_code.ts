/**
 * The exit codes of every command (documented in the README).
 * @module
 */

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
} as const;

/** One of the exit codes. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

export { InputError } from "../plan/input_error.ts";
