import assert from "node:assert/strict";
import { timelineChart } from "./timeline.ts";
import type { StepStatusRow } from "../app/status.ts";

const row = (
  id: string,
  phase: StepStatusRow["phase"],
  status: StepStatusRow["status"],
  startedAt?: string,
  finishedAt = "",
): StepStatusRow => ({
  id,
  phase,
  kind: "verify",
  status,
  attempts: startedAt ? 1 : 0,
  finishedAt,
  ...(startedAt ? { startedAt } : {}),
});

Deno.test("timeline: a Mermaid Gantt chart of the started steps, by phase", () => {
  const chart = timelineChart("kubeadm-ha: a rotation", [
    row(
      "distribute-cluster-ca",
      "trust",
      "done",
      "2026-12-06T10:00:00.120Z",
      "2026-12-06T10:00:04.900Z",
    ),
    row("verify-trust", "trust", "done", "2026-12-06T10:05:00Z", "2026-12-06T10:05:00.200Z"),
    row("pod-trust-gate", "switch", "blocked", "2026-12-06T11:00:00Z"),
    row("activate-cluster-ca", "switch", "pending"),
    row("remove-old-cluster-ca", "finalize", "pending"),
  ], Date.parse("2026-12-06T11:00:30Z"));
  assert.equal(
    chart,
    [
      "```mermaid",
      "gantt",
      "  title kubeadm-ha  a rotation",
      "  dateFormat YYYY-MM-DDTHH:mm:ss",
      "  axisFormat %H:%M",
      "  section trust",
      "  distribute-cluster-ca :done, t1, 2026-12-06T10:00:00, 2026-12-06T10:00:04",
      "  verify-trust :done, t2, 2026-12-06T10:05:00, 2026-12-06T10:05:01",
      "  section switch",
      "  pod-trust-gate :crit, t3, 2026-12-06T11:00:00, 2026-12-06T11:00:30",
      "```",
    ].join("\n"),
  );
  assert.equal(timelineChart("x", [row("a", "trust", "pending")]), undefined, "nothing started");
});
