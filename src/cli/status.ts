/**
 * `status`: shows the rotation's progress as the cluster records it.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { rotationStatus } from "../app/status.ts";
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
  const { configMap, progress, steps: rows } = await rotationStatus(loaded, flags);
  if (flags.output === "json") {
    printDocument(outputDocument("StatusReport", ExitCode.Ok, {
      plan: flags.plan,
      configMap,
      stopAfter: loaded.plan.stopAfter,
      progress: progress ?? null,
      steps: rows,
    }));
    return ExitCode.Ok;
  }
  if (!progress) {
    printer.info(`no rotation recorded yet (ConfigMap ${configMap} does not exist)`);
  }
  const width = Math.max(...rows.map((row) => row.id.length), 4);
  console.log(`${"STEP".padEnd(width)}  PHASE     STATUS   ATTEMPTS  FINISHED`);
  for (const row of rows) {
    console.log(
      `${row.id.padEnd(width)}  ${row.phase.padEnd(8)}  ${row.status.padEnd(7)}  ` +
        `${String(row.attempts).padEnd(8)}  ${row.finishedAt}`,
    );
    if (row.error) console.log(`${"".padEnd(width)}  ${row.error}`);
  }
  return ExitCode.Ok;
}
