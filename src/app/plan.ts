/**
 * Plans in ca-rotator's own format: the plan loader bound to the step kinds of
 * src/steps/kinds.ts. Commands and tests load plans through here.
 * @module
 */
import * as format from "../plan/load.ts";
import { PLAN_FORMAT, type PlanStep } from "../steps/kinds.ts";

/** A loaded plan of ca-rotator's step kinds. */
export type LoadedPlan = format.LoadedPlan<PlanStep>;

/** Reads and loads a plan file; `env` (default: the process environment) fills `${NAME}`. */
export function loadPlan(
  path: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<LoadedPlan> {
  return format.loadPlan(PLAN_FORMAT, path, env);
}

/** Loads a plan from its text (pure: no file or environment access beyond `env`). */
export function parsePlan(
  text: string,
  path: string,
  env: Record<string, string | undefined> = {},
): LoadedPlan {
  return format.parsePlan(PLAN_FORMAT, text, path, env);
}
