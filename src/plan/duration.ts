/**
 * Durations written as in Go and kubectl: `90s`, `10m`, `1h30m`.
 * @module
 */

/** Matches a duration: one or more `<integer><unit>` parts, units `h`, `m`, `s`, in that order. */
export const DURATION_PATTERN = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** The number of seconds in a duration such as `1h30m`; throws on a malformed duration. */
export function durationSeconds(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) {
    throw new Error(
      `Cannot read duration "${text}": invalid duration (expected e.g. 90s, 10m, 1h30m)`,
    );
  }
  const [, hours = "0", minutes = "0", seconds = "0"] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}
