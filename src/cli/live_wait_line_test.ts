import assert from "node:assert/strict";
import { clock, liveWaitLine, renderWaitLine } from "./live_wait_line.ts";
import { memoryPrinter } from "../engine/printer.ts";
import type { WaitingEvent } from "../engine/events.ts";

const waiting: WaitingEvent = {
  type: "Waiting",
  step: "roll-workloads-trust",
  description: "the rollout of 4 workloads",
  since: "2026-11-27T03:00:00.000Z",
  deadline: "2026-11-27T03:02:00.000Z",
  elapsedSeconds: 0,
  ready: 2,
  total: 4,
};

Deno.test("the live line shows the step, the counts, the time elapsed and the deadline", () => {
  assert.equal(
    renderWaitLine(waiting, new Date("2026-11-27T03:00:12.500Z")),
    "[roll-workloads-trust] waiting for the rollout of 4 workloads: 2/4 · 0:12 elapsed · " +
      "deadline 03:02:00Z (1:47 left)",
  );
  const narrow = renderWaitLine(waiting, new Date("2026-11-27T03:00:12Z"), 40);
  assert.equal(narrow.length, 40);
  assert.ok(narrow.endsWith("…"));
  assert.deepEqual([clock(59), clock(61), clock(3_725)], ["0:59", "1:01", "1:02:05"]);
});

Deno.test("the live line is rewritten in place and log lines are printed above it", () => {
  let screen = "";
  const log = memoryPrinter();
  const live = liveWaitLine(log, (text) => screen += text, {
    now: () => new Date("2026-11-27T03:00:05Z"),
    columns: () => 200,
  });
  live.sink.emit(waiting);
  const clear = "\r\x1b[2K";
  assert.ok(screen.startsWith(`${clear}[roll-workloads-trust] waiting for `), screen);
  assert.ok(screen.includes(": 2/4 · 0:05 elapsed"), screen);
  assert.ok(!screen.includes("\n"), "never a new line for the wait");
  screen = "";
  live.printer.info("[roll-workloads-trust] batch 2/2");
  assert.deepEqual(log.lines, ["[roll-workloads-trust] batch 2/2"]);
  assert.ok(
    screen.startsWith(`${clear}${clear}[roll-workloads-trust] waiting`),
    "cleared, redrawn",
  );
  screen = "";
  live.sink.emit({
    type: "StepDone",
    step: "roll-workloads-trust",
    phase: "trust",
    changes: 4,
    durationSeconds: 9,
  });
  assert.equal(screen, "\r\x1b[2K", "the line goes when the wait is over");
  screen = "";
  live.printer.info("next");
  assert.equal(screen, "", "nothing drawn after the wait");
  live.stop();
});
