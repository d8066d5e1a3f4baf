import assert from "node:assert/strict";
import {
  AdaptiveWindow,
  grown,
  medianOf,
  shrunk,
  SLOW_MARGIN_MS,
  slowReason,
} from "./_adaptive_window.ts";

const TIMEOUT = 600_000;

Deno.test("AIMD arithmetic: one more up to the maximum; half, at least 1", () => {
  assert.equal(grown(1, 5), 2);
  assert.equal(grown(4, 5), 5);
  assert.equal(grown(5, 5), 5, "capped at the maximum");
  assert.equal(shrunk(8), 4);
  assert.equal(shrunk(5), 2);
  assert.equal(shrunk(2), 1);
  assert.equal(shrunk(1), 1, "floor 1");
  assert.equal(medianOf([]), undefined);
  assert.equal(medianOf([3, 1, 2]), 2);
  assert.equal(medianOf([4, 1, 3, 2]), 2.5);
});

Deno.test("slowReason: 3× the median and 10 s more, once 3 have completed; or half the timeout", () => {
  const earlier = [20_000, 30_000, 25_000]; // median 25 s
  assert.equal(slowReason(74_000, earlier, TIMEOUT), undefined, "under 3× the median");
  assert.match(slowReason(76_000, earlier, TIMEOUT)!, /76\.0 s, more than 3× the median .*25\.0 s/);
  assert.equal(slowReason(76_000, earlier.slice(0, 2), TIMEOUT), undefined, "too few to judge");
  // a fast cluster's jitter: 3× a 2 s median, but not 10 s more
  assert.equal(slowReason(7_000, [2_000, 2_000, 2_000], TIMEOUT), undefined);
  assert.ok(slowReason(2_000 + SLOW_MARGIN_MS, [2_000, 2_000, 2_000], TIMEOUT));
  // half the timeout is slow from the first completion on
  assert.match(slowReason(301_000, [], TIMEOUT)!, /more than 50 % of its timeout \(600\.0 s\)/);
  assert.equal(slowReason(299_000, [], TIMEOUT), undefined);
});

Deno.test("AdaptiveWindow: grows by one per healthy completion while in use, up to the maximum", () => {
  const window = new AdaptiveWindow({ start: 1, max: 4, timeoutMs: TIMEOUT });
  const sizes = [window.size];
  for (let i = 0; i < 6; i++) {
    window.completed(`w${i}`, "Deployment", 2_000, window.size);
    sizes.push(window.size);
  }
  assert.deepEqual(sizes, [1, 2, 3, 4, 4, 4, 4]);
  const resize = new AdaptiveWindow({ start: 2, max: 3, timeoutMs: TIMEOUT })
    .completed("Deployment/a/web", "Deployment", 2_000, 2);
  assert.deepEqual(resize, {
    from: 2,
    to: 3,
    reason: "Deployment/a/web completed in 2.0 s",
  });
});

Deno.test("AdaptiveWindow: no growth when the window was not the bound (less than half in flight)", () => {
  const window = new AdaptiveWindow({ start: 6, max: 10, timeoutMs: TIMEOUT });
  assert.equal(window.completed("a", "Deployment", 1_000, 2), undefined);
  assert.equal(window.size, 6);
  window.completed("b", "Deployment", 1_000, 3);
  assert.equal(window.size, 7, "half of it in flight is in use");
});

Deno.test("AdaptiveWindow: a slow completion halves the window; growth resumes after it", () => {
  const window = new AdaptiveWindow({ start: 8, max: 8, timeoutMs: TIMEOUT });
  for (const name of ["a", "b", "c"]) window.completed(name, "Deployment", 20_000, 8);
  assert.equal(window.size, 8);
  const resize = window.completed("Deployment/x/slow", "Deployment", 90_000, 8);
  assert.equal(resize?.from, 8);
  assert.equal(resize?.to, 4);
  assert.match(resize!.reason, /^Deployment\/x\/slow took 90\.0 s, more than 3× the median/);
  window.completed("d", "Deployment", 300_001, 4); // over half the timeout
  assert.equal(window.size, 2);
  window.completed("e", "Deployment", 20_000, 2);
  assert.equal(window.size, 3, "additive increase again");
});

Deno.test("AdaptiveWindow: each class has its own median (a DaemonSet is not a slow Deployment)", () => {
  const window = new AdaptiveWindow({ start: 4, max: 4, timeoutMs: TIMEOUT });
  for (const name of ["a", "b", "c"]) window.completed(name, "Deployment", 5_000, 4);
  assert.equal(window.completed("ds", "DaemonSet", 60_000, 4), undefined);
  assert.equal(window.size, 4);
  assert.ok(window.completed("slow", "Deployment", 60_000, 4));
  assert.equal(window.size, 2);
});

Deno.test("AdaptiveWindow: a failure halves it, down to 1 and no lower", () => {
  const window = new AdaptiveWindow({ start: 5, max: 5, timeoutMs: TIMEOUT });
  assert.deepEqual(window.failed("Deployment/a/stuck"), {
    from: 5,
    to: 2,
    reason: "Deployment/a/stuck failed",
  });
  window.failed("b");
  assert.equal(window.size, 1);
  assert.equal(window.failed("c"), undefined, "floor 1: no resize");
  assert.equal(window.size, 1);
  window.completed("d", "Deployment", 1_000, 1);
  assert.equal(window.size, 1, "no growth after a failure: nothing new starts");
});

Deno.test("AdaptiveWindow: a start above the maximum or below 1 is refused", () => {
  assert.throws(
    () => new AdaptiveWindow({ start: 6, max: 5, timeoutMs: TIMEOUT }),
    /start 6 is above its maximum 5/,
  );
  assert.throws(
    () => new AdaptiveWindow({ start: 0, max: 5, timeoutMs: TIMEOUT }),
    /positive whole number/,
  );
});

Deno.test("AdaptiveWindow: a task in flight past the slow mark halves it once and holds growth until it ends", () => {
  const window = new AdaptiveWindow({ start: 8, max: 10, timeoutMs: TIMEOUT });
  for (const name of ["a", "b", "c"]) window.completed(name, "Deployment", 5_000, 8);
  assert.equal(window.size, 10);
  assert.equal(window.running("Deployment/x/stuck", "Deployment", 14_000), undefined, "not yet");
  const resize = window.running("Deployment/x/stuck", "Deployment", 16_000);
  assert.equal(resize?.to, 5);
  assert.match(resize!.reason, /^Deployment\/x\/stuck still in flight after 16\.0 s, more than 3×/);
  assert.equal(window.running("Deployment/x/stuck", "Deployment", 30_000), undefined, "once");
  window.completed("d", "Deployment", 5_000, 5);
  assert.equal(window.size, 5, "no growth while a task is overdue");
  assert.equal(window.completed("Deployment/x/stuck", "Deployment", 40_000, 5), undefined);
  assert.equal(window.size, 5, "its end does not halve it again");
  window.completed("e", "Deployment", 5_000, 5);
  assert.equal(window.size, 6, "growth resumes");
});
