/**
 * Times and durations as the verifier writes them in messages, notes and tables.
 * @module
 */

/** ISO 8601 without milliseconds. */
export function iso(date: Date): string {
  const text = date.toISOString(); // always ends in ".sssZ"
  return text.slice(0, -5) + "Z";
}

/**
 * ISO 8601 without milliseconds, rounded up to the next whole second: the end of a span printed
 * with {@link iso} must not fall before the span's true end (a rotation deadline drawn in the last
 * second of a window would otherwise be printed outside it).
 */
export function isoCeil(date: Date): string {
  return iso(new Date(Math.ceil(date.getTime() / 1000) * 1000));
}

/** A duration as `1h2m3s`, `45s`, `2d3h`. */
export function formatDuration(ms: number): string {
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const out = (d ? `${d}d` : "") + (h ? `${h}h` : "") + (m && !d ? `${m}m` : "") +
    (s && !d && !h ? `${s}s` : "");
  return (ms < 0 ? "-" : "") + (out || "0s");
}
