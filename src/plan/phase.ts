/**
 * The three phases of a CA rotation, in the order they run.
 * @module
 */

/**
 * The phases, in order: `trust` (everything accepts both CAs), `switch` (the new CA issues),
 * `finalize` (the old CA is removed).
 */
export const PHASES = ["trust", "switch", "finalize"] as const;

/** One phase of a rotation. */
export type Phase = typeof PHASES[number];

/** The position of a phase in {@link PHASES}: 0 for `trust`, 1 for `switch`, 2 for `finalize`. */
export function phaseIndex(phase: Phase): number {
  return PHASES.indexOf(phase);
}
