/**
 * `status`: shows the rotation's progress as the cluster records it.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { rotationStatus } from "../app/status.ts";
import { duration } from "../app/next_run.ts";
import { outputDocument, printDocument } from "./output_document.ts";
import type { OutputFormat } from "./output_format.ts";

/** The flags of `status`. */
export interface StatusFlags {
  readonly plan: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
}

/** Prints each step with its recorded status. */
export async function statusCommand(flags: StatusFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const { configMap, progress, steps: rows, standing } = await rotationStatus(loaded, flags);
  if (flags.output === "json") {
    printDocument(outputDocument("StatusReport", ExitCode.Ok, {
      plan: flags.plan,
      configMap,
      stopAfter: loaded.plan.stopAfter,
      phase: standing.phase,
      phasesDone: standing.phasesDone,
      next: standing.next,
      progress: progress ?? null,
      steps: rows,
    }));
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
  const width = Math.max(...rows.map((row) => row.id.length), 4);
  console.log(`${"STEP".padEnd(width)}  PHASE     STATUS   ATTEMPTS  FINISHED`);
  for (const row of rows) {
    console.log(
      `${row.id.padEnd(width)}  ${row.phase.padEnd(8)}  ${row.status.padEnd(7)}  ` +
        `${String(row.attempts).padEnd(8)}  ${row.finishedAt}`,
    );
    if (row.status === "running" && row.startedAt) {
      const since = Date.now() - Date.parse(row.startedAt);
      console.log(`${"".padEnd(width)}  running for ${duration(since)}, since ${row.startedAt}`);
    }
    if (row.error) console.log(`${"".padEnd(width)}  ${row.error}`);
  }
  return ExitCode.Ok;
}
