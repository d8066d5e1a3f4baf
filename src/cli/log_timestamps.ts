/**
 * `--timestamps`: every log line starts with the time it was written, RFC 3339 in UTC
 * (`2026-11-27T03:04:05.678Z`), as `kubectl logs --timestamps` shows them.
 * @module
 */
import type { Printer } from "../engine/printer.ts";

/** A printer that prefixes each line of `printer` with the time. */
export function timestampedPrinter(
  printer: Printer,
  now: () => Date = () => new Date(),
): Printer {
  const stamp = (message: string) => `${now().toISOString()} ${message}`;
  return {
    info: (message) => printer.info(stamp(message)),
    warn: (message) => printer.warn(stamp(message)),
    error: (message) => printer.error(stamp(message)),
  };
}
