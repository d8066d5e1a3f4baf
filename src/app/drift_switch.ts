/**
 * The internal switch of the drift re-check (src/engine/drift.ts): set
 * `CA_ROTATOR_INTERNAL_DRIFT_RECHECK=off` in the environment and a run re-checks no done step,
 * as before the re-check existed. It exists for the negative control of the drift test
 * (test/rotation/drift_test.ts); operators have no reason to set it.
 * @module
 */

/** The environment variable of the internal switch. */
export const DRIFT_RECHECK_ENV = "CA_ROTATOR_INTERNAL_DRIFT_RECHECK";

/** False when the environment switches the re-check off. */
export function driftRecheckEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  return env[DRIFT_RECHECK_ENV] !== "off";
}
