import assert from "node:assert/strict";
import { isDuration, parseDuration } from "./duration.ts";

Deno.test("Go-style durations in milliseconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["300ms", 300],
    ["90s", 90_000],
    ["10m", 600_000],
    ["1.5h", 5_400_000],
    ["1h30m", 5_400_000],
    ["2h0m5s", 7_205_000],
    ["8760h0m0s", 8760 * 3_600_000],
    ["5m1h", 3_900_000], // Go sums the parts in any order
    [".5s", 500],
    ["1.s", 1_000],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["2000000ns", 2],
  ];
  for (const [text, ms] of cases) {
    assert.ok(Math.abs(parseDuration(text) - ms) < 1e-9, `${text}: ${parseDuration(text)}`);
    assert.ok(isDuration(text), text);
  }
});

Deno.test("a malformed duration is refused saying what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["", /invalid duration "": it is empty/],
    ["10", /invalid duration "10": missing unit after 10/],
    ["m", /invalid duration "m": expected a number at "m"/],
    ["10 m", /unknown unit " m"/],
    ["10x", /unknown unit "x"/],
    ["10mins", /unknown unit "mins"/],
    ["-5s", /must not be signed/],
    ["+5s", /must not be signed/],
    ["1h 30m", /unknown unit "h "/],
    [".s", /expected a number at ".s"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseDuration(text), message, text);
    assert.throws(() => parseDuration(text), /expected e\.g\. 300ms, 90s, 10m, 1\.5h or 1h30m/);
    assert.equal(isDuration(text), false, text);
  }
});
