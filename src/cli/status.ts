/**
 * `status`: shows the rotation's progress as the cluster records it.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { rotationStatus, type StepStatusRow } from "../app/status.ts";
import { kubeconfigAdvice } from "../app/kubeconfig_needs.ts";
import { joinAdvice } from "../app/join_needs.ts";
import { timelineChart } from "./timeline.ts";
import { duration } from "../app/next_run.ts";
import { outputDocument, printDocument } from "./output_document.ts";
import { type DriftStatus, driftStatus } from "../app/drift_status.ts";
import { driftLine } from "../engine/drift.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `status`. */
export interface StatusFlags {
  readonly plan: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
  /** Also print the timeline of the started steps (a Mermaid Gantt chart). */
  readonly timeline?: boolean;
  /** Re-check the done steps on the nodes for drift (default; `--no-drift` skips it). */
  readonly drift?: boolean;
}

/** Prints each step with its recorded status. */
export async function statusCommand(flags: StatusFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const { configMap, progress, steps: rows, standing, kubeconfigs, joins } = await rotationStatus(
    loaded,
    flags,
  );
  const drift: DriftStatus = flags.drift === false
    ? { checked: false, reason: "--no-drift" }
    : await driftStatus(loaded, flags, progress);
  const format = documentFormat(flags.output);
  if (format) {
    await printDocument(
      outputDocument("StatusReport", ExitCode.Ok, {
        plan: flags.plan,
        configMap,
        stopAfter: loaded.plan.stopAfter,
        phase: standing.phase,
        phasesDone: standing.phasesDone,
        next: standing.next,
        progress: progress ?? null,
        steps: rows,
        kubeconfigs,
        drift,
        joins,
      }),
      format,
    );
    return ExitCode.Ok;
  }
  if (!progress) {
    printer.info(`no rotation recorded yet (ConfigMap ${configMap} does not exist)`);
  }
  console.log(
    `phase: ${standing.phase}` +
      (standing.phasesDone.length ? ` (done: ${standing.phasesDone.join(", ")})` : "") +
      `; stopAfter: ${loaded.plan.stopAfter}`,
  );
  const rollback = progress?.rollback;
  if (rollback) {
    console.log(
      rollback.finishedAt
        ? `rolled back at ${rollback.finishedAt}: the next rotate starts from scratch`
        : `a rollback began at ${rollback.startedAt} and has not finished: run rollback again`,
    );
  }
  console.log(`next run: ${standing.next.message}`);
  console.log(kubeconfigAdvice(kubeconfigs, `ca-rotator kubeconfig --plan ${flags.plan}`));
  for (const line of driftLines(drift)) console.log(line);
  for (const line of joinAdvice(joins)) console.log(line);
  for (const line of stepTable(rows)) console.log(line);
  if (flags.timeline) {
    console.log("");
    console.log(
      timelineChart(`ca-rotator ${loaded.plan.metadata.name}`, rows) ?? "no step has started yet",
    );
  }
  return ExitCode.Ok;
}

/**
 * The steps as a table, a line each, columns as wide as their widest value (`interrupted` too);
 * a running step's age and a step's error on a line of their own below it.
 */
export function stepTable(rows: readonly StepStatusRow[], now = Date.now()): string[] {
  const width = Math.max(...rows.map((row) => row.id.length), 4);
  const statusWidth = Math.max(...rows.map((row) => row.status.length), "STATUS".length);
  const lines = [
    `${"STEP".padEnd(width)}  PHASE     ${"STATUS".padEnd(statusWidth)}  ATTEMPTS  FINISHED`,
  ];
  for (const row of rows) {
    lines.push(
      `${row.id.padEnd(width)}  ${row.phase.padEnd(8)}  ${row.status.padEnd(statusWidth)}  ` +
        `${String(row.attempts).padEnd(8)}  ${row.finishedAt}`.trimEnd(),
    );
    if (row.status === "running" && row.startedAt) {
      const since = now - Date.parse(row.startedAt);
      lines.push(`${"".padEnd(width)}  running for ${duration(since)}, since ${row.startedAt}`);
    }
    if (row.error) lines.push(`${"".padEnd(width)}  ${row.error}`);
  }
  return lines;
}

/** What `status` says of drift: none, each drift and what a next run does with it, or why not checked. */
export function driftLines(drift: DriftStatus): string[] {
  if (!drift.checked) return [`drift: not checked (${drift.reason})`];
  const lines = drift.unchecked.map((each) =>
    `drift: cannot re-check done step ${each.step}: ${each.error}`
  );
  if (drift.findings.length === 0) {
    return [
      `drift: none (${drift.steps.length} done steps re-checked on the nodes and in the cluster)`,
      ...lines,
    ];
  }
  const holds = drift.findings.some((finding) => finding.action === "hold");
  return [
    ...drift.findings.map((finding) =>
      driftLine(
        finding,
        holds
          ? "the next run holds before it changes anything"
          : "the next run re-applies the step",
      )
    ),
    ...lines,
  ];
}
