/**
 * Times and durations as the verifier writes them in messages, notes and tables.
 * @module
 */

/** ISO 8601 without milliseconds. */
export function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
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
