/**
 * `rotate`: runs the plan up to `stopAfter`, or with --dry-run shows the diff of every
 * remaining step and changes nothing.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { rotate } from "../app/rotation.ts";
import { loadPlan } from "../app/plan.ts";
import {
  renderChanges,
  renderJson,
  renderSummary,
  shouldUseColor,
  summarize,
} from "../diff/mod.ts";
import type { Change } from "../engine/change.ts";
import { outputDocument, printDocument, writeStdout } from "./output_document.ts";
import type { OutputFormat } from "./output_format.ts";

/** The flags of `rotate`. */
export interface RotateFlags {
  readonly plan: string;
  readonly dryRun: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
}

/** Runs `rotate` and returns its exit code. */
export async function rotateCommand(flags: RotateFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const result = await rotate({
    loaded,
    dryRun: flags.dryRun,
    printer,
    kubeconfig: flags.kubeconfig,
    context: flags.context,
  });
  const sections = [
    { stepId: "new-ca-material", changes: result.setupChanges },
    ...result.steps.map((step) => ({ stepId: step.stepId, changes: step.changes })),
  ].filter((section) => section.changes.length > 0);
  const all: Change[] = sections.flatMap((section) => section.changes);
  const exitCode = result.outcome === "gate" ? ExitCode.Gate : ExitCode.Ok;
  if (flags.output === "json") {
    printDocument(outputDocument("RotateResult", exitCode, {
      plan: flags.plan,
      dryRun: flags.dryRun,
      outcome: result.outcome,
      ...(result.gate !== undefined ? { gate: result.gate, step: result.gateStep } : {}),
      stopAfter: loaded.plan.stopAfter,
      skipped: result.skipped,
      steps: sections.map((section) => ({
        stepId: section.stepId,
        ...renderJson(section.changes, { stepId: section.stepId }),
      })),
      summary: summarize(all),
    }));
  } else if (flags.dryRun) {
    const color = shouldUseColor(Deno.stdout, Deno.env.toObject());
    for (const section of sections) {
      writeStdout(renderChanges(section.changes, { color, stepId: section.stepId }));
    }
    writeStdout(renderSummary(summarize(all)) + "\n");
  } else {
    printer.info(renderSummary(summarize(all)).replace("to change", "changed"));
  }
  if (result.outcome === "gate") printer.warn(`stopped at a gate: ${result.gate}`);
  return exitCode;
}
