import assert from "node:assert/strict";
import { formatDuration } from "./time_format.ts";

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(45_000), "45s");
  assert.equal(formatDuration(125_000), "2m5s");
  assert.equal(formatDuration(3_600_000 + 120_000), "1h2m");
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000), "2d3h");
  assert.equal(formatDuration(-300_000), "-5m");
});
