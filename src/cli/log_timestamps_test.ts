import assert from "node:assert/strict";
import { timestampedPrinter } from "./log_timestamps.ts";
import { memoryPrinter } from "../engine/printer.ts";

Deno.test("--timestamps starts every line with an RFC 3339 time in UTC", () => {
  const lines = memoryPrinter();
  const printer = timestampedPrinter(lines, () => new Date("2026-11-27T03:04:05.678Z"));
  printer.info("[distribute-cluster-ca] done (4 changes)");
  printer.warn("stopped at a gate");
  assert.deepEqual(lines.lines, [
    "2026-11-27T03:04:05.678Z [distribute-cluster-ca] done (4 changes)",
    "warning: 2026-11-27T03:04:05.678Z stopped at a gate",
  ]);
});
