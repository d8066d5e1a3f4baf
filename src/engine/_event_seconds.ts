/**
 * How the run's events give durations and elapsed times: seconds, to a tenth.
 * @module
 */

/** `ms` milliseconds as seconds, rounded to a tenth. */
export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
