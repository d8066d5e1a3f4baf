/**
 * `validate`: loads a plan and checks it, touching nothing.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { PHASES } from "../plan/phase.ts";
import { outputDocument, printDocument } from "./output_document.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `validate`. */
export interface ValidateFlags {
  readonly plan: string;
  readonly output?: OutputFormat;
}

/** Validates the plan; a bad plan throws a PlanError (exit code 2). */
export async function validateCommand(flags: ValidateFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const plan = loaded.plan;
  const steps = Object.fromEntries(
    PHASES.map((phase) => [phase, plan.steps.filter((step) => step.phase === phase).length]),
  );
  const format = documentFormat(flags.output);
  if (format) {
    await printDocument(
      outputDocument("ValidationResult", ExitCode.Ok, {
        plan: flags.plan,
        name: plan.metadata.name,
        valid: true,
        stopAfter: plan.stopAfter,
        steps: plan.steps.length,
        stepsPerPhase: steps,
        digest: loaded.digest,
      }),
      format,
    );
    return ExitCode.Ok;
  }
  const perPhase = PHASES.map((phase) => `${phase} ${steps[phase]}`).join(", ");
  printer.info(
    `plan "${flags.plan}" is valid: ${plan.steps.length} steps (${perPhase}), ` +
      `stopAfter ${plan.stopAfter}, digest ${loaded.digest.slice(0, 16)}`,
  );
  return ExitCode.Ok;
}
