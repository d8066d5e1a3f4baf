/**
 * Plans in ca-rotator's own format: the plan loader bound to the step kinds of
 * src/steps/kinds.ts (or, for a test of a new kind, to another list). Commands and tests load
 * plans through here.
 * @module
 */
import { type LoadedPlan, loadPlanWith, parsePlanWith, planFormat } from "../plan/load.ts";
import type { StepFormat } from "../plan/step_format.ts";
import { planJsonSchema } from "../plan/json_schema.ts";
import { PLAN_FORMAT, type PlanStep } from "../steps/kinds.ts";

/** Reads and loads a plan file; `env` (default: the process environment) fills `${NAME}`. */
export function loadPlan(
  path: string,
  env?: Record<string, string | undefined>,
): Promise<LoadedPlan<PlanStep>>;
/** Reads and loads a plan file whose steps are of the given kinds. */
export function loadPlan(
  path: string,
  env: Record<string, string | undefined> | undefined,
  kinds: readonly StepFormat[],
): Promise<LoadedPlan>;
export function loadPlan(
  path: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
  kinds?: readonly StepFormat[],
): Promise<LoadedPlan> {
  return loadPlanWith(kinds ? planFormat(kinds) : PLAN_FORMAT, path, env);
}

/** Loads a plan from its text (pure: no file or environment access beyond `env`). */
export function parsePlan(
  text: string,
  path: string,
  env: Record<string, string | undefined> = {},
): LoadedPlan<PlanStep> {
  return parsePlanWith(PLAN_FORMAT, text, path, env);
}

/** The JSON Schema of plans of the shipped step kinds, as schema/plan.schema.json holds it. */
export function planJsonSchemaText(): string {
  return JSON.stringify(planJsonSchema(PLAN_FORMAT.kinds), null, 2) + "\n";
}
