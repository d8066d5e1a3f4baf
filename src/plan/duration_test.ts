import assert from "node:assert/strict";
import { durationSeconds } from "./duration.ts";

Deno.test("durations in h, m, s", () => {
  assert.equal(durationSeconds("90s"), 90);
  assert.equal(durationSeconds("10m"), 600);
  assert.equal(durationSeconds("1h30m"), 5400);
  assert.equal(durationSeconds("2h0m5s"), 7205);
});

Deno.test("malformed durations are refused", () => {
  for (const text of ["", "10", "m", "5m1h", "1.5h", "10 m"]) {
    assert.throws(() => durationSeconds(text), /invalid duration/, text);
  }
});
