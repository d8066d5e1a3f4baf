import assert from "node:assert/strict";
import { formatDuration, iso, isoCeil } from "./time_format.ts";

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(45_000), "45s");
  assert.equal(formatDuration(125_000), "2m5s");
  assert.equal(formatDuration(3_600_000 + 120_000), "1h2m");
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000), "2d3h");
  assert.equal(formatDuration(-300_000), "-5m");
});

Deno.test("iso truncates to the second, isoCeil rounds a span's end up to the next second", () => {
  const t = Date.UTC(2025, 5, 1, 0, 1, 48, 900);
  assert.equal(iso(new Date(t)), "2025-06-01T00:01:48Z");
  assert.equal(isoCeil(new Date(t)), "2025-06-01T00:01:49Z");
  assert.equal(isoCeil(new Date(Date.UTC(2025, 5, 1, 0, 1, 48))), "2025-06-01T00:01:48Z");
});
