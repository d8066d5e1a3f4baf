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

/** The flags of `rotate`. */
export interface RotateFlags {
  readonly plan: string;
  readonly dryRun: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: "text" | "json";
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
  if (flags.output === "json") {
    const document = {
      plan: flags.plan,
      dryRun: flags.dryRun,
      outcome: result.outcome,
      gate: result.gate,
      skipped: result.skipped,
      steps: sections.map((section) => ({
        stepId: section.stepId,
        ...renderJson(section.changes, { stepId: section.stepId }),
      })),
      summary: summarize(all),
      roundTrips: result.roundTrips,
    };
    writeOut(JSON.stringify(document, null, 2) + "\n");
  } else if (flags.dryRun) {
    const color = shouldUseColor(Deno.stdout, Deno.env.toObject());
    for (const section of sections) {
      writeOut(renderChanges(section.changes, { color, stepId: section.stepId }));
    }
    writeOut(renderSummary(summarize(all)) + "\n");
  } else {
    printer.info(renderSummary(summarize(all)).replace("to change", "changed"));
  }
  if (flags.output !== "json" && result.roundTrips.length > 0) {
    printer.info(renderRoundTrips(result.roundTrips));
  }
  if (result.outcome === "gate") {
    printer.warn(`stopped at a gate: ${result.gate}`);
    return ExitCode.Gate;
  }
  return ExitCode.Ok;
}

/** `ssh round trips: <total> (<step> <n>, max <m> per node; …)`. */
export function renderRoundTrips(
  steps: readonly { stepId: string; total: number; maxPerNode: number }[],
): string {
  const total = steps.reduce((sum, step) => sum + step.total, 0);
  const each = steps.filter((step) => step.total > 0)
    .map((step) => `${step.stepId} ${step.total} (max ${step.maxPerNode} per node)`);
  return `ssh round trips: ${total} — ${each.join(", ")}`;
}

function writeOut(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}
