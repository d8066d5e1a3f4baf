/**
 * The rotation as a timeline: a Mermaid Gantt chart of the steps the cluster records as started,
 * by phase, from their recorded start and end (GitHub and GitLab render it in Markdown). The
 * Markdown summary of a run ends with it; `status --timeline` prints it.
 * @module
 */
import type { StepStatusRow } from "../app/status.ts";
import { PHASES } from "../plan/phase.ts";

const MARKER: Partial<Record<StepStatusRow["status"], string>> = {
  done: "done",
  running: "active",
  failed: "crit",
  interrupted: "crit",
  blocked: "crit",
};

/** Mermaid's time: `2026-12-06T10:00:05` (UTC, seconds; the chart's `dateFormat`). */
function chartTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * The chart, as a fenced `mermaid` block, or `undefined` while no step has started. A step still
 * running (or stopped in) ends at `now`; a step shorter than a second is drawn a second long.
 */
export function timelineChart(
  title: string,
  rows: readonly StepStatusRow[],
  now: number = Date.now(),
): string | undefined {
  const started = rows.filter((row) => row.startedAt);
  if (started.length === 0) return undefined;
  const lines = [
    "```mermaid",
    "gantt",
    `  title ${title.replace(/[:#;]/g, " ")}`,
    "  dateFormat YYYY-MM-DDTHH:mm:ss",
    "  axisFormat %H:%M",
  ];
  let task = 0;
  for (const phase of PHASES) {
    const inPhase = started.filter((row) => row.phase === phase);
    if (inPhase.length === 0) continue;
    lines.push(`  section ${phase}`);
    for (const row of inPhase) {
      const start = Date.parse(row.startedAt!);
      const finished = row.status === "done" && row.finishedAt ? Date.parse(row.finishedAt) : now;
      const end = Math.max(finished, start + 1000);
      const marker = MARKER[row.status];
      // `<tags>, <id>, <start>, <end>`: Mermaid's form with both ends given.
      lines.push(
        `  ${row.id} :${marker ? `${marker}, ` : ""}t${++task}, ${chartTime(start)}, ` +
          chartTime(end),
      );
    }
  }
  lines.push("```");
  return lines.join("\n");
}
