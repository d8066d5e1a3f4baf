/**
 * ca-rotator's version, printed by `--version` and nowhere else kept.
 * @module
 */

/** The version of this ca-rotator (semantic versioning). */
export const VERSION = "0.1.0";
