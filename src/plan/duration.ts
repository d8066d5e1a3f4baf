/**
 * Durations written as Go's `time.ParseDuration` and kubectl read them: `300ms`, `90s`, `10m`,
 * `1.5h`, `1h30m`, `0`. The one parser for every duration ca-rotator reads (flags, plans,
 * component flags such as `--cluster-signing-duration`).
 * @module
 */

/** Milliseconds per unit, Go's units. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 micro sign
  "μs": 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const EXAMPLES = "e.g. 300ms, 90s, 10m, 1.5h or 1h30m";

/** A malformed duration; the message says what is wrong with it. */
export class DurationError extends Error {
  constructor(readonly text: string, reason: string) {
    super(`invalid duration "${text}": ${reason} (expected ${EXAMPLES})`);
    this.name = "DurationError";
  }
}

/**
 * The milliseconds in a Go-style duration: a sequence of decimal numbers, each with a unit
 * (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), summed; `0` alone needs no unit. Signs are refused:
 * every duration ca-rotator takes is a span of time to wait.
 * @throws {DurationError} naming what is wrong.
 */
export function parseDuration(text: string): number {
  if (text === "") throw new DurationError(text, "it is empty");
  if (text === "0") return 0;
  if (/^[-+]/.test(text)) throw new DurationError(text, "it must not be signed");
  let total = 0;
  let rest = text;
  while (rest !== "") {
    const number = /^(\d+(?:\.\d*)?|\.\d+)/.exec(rest);
    if (!number) {
      throw new DurationError(text, `expected a number at "${rest}"`);
    }
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === "") throw new DurationError(text, `missing unit after ${number[0]}`);
    const ms = UNIT_MS[unit];
    if (ms === undefined) {
      throw new DurationError(text, `unknown unit "${unit}" (units: ns, us, ms, s, m, h)`);
    }
    total += Number(number[0]) * ms;
    rest = rest.slice(unit.length);
  }
  if (!Number.isFinite(total)) throw new DurationError(text, "it is too long");
  return total;
}

/** Whether `text` is a duration {@link parseDuration} reads. */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}
