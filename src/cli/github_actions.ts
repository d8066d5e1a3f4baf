/**
 * GitHub Actions: a bad plan becomes `::error file=…,line=…,col=…::message` workflow commands,
 * so each problem is annotated on its line of the plan in the pull request.
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { PlanError } from "../plan/plan_error.ts";
import { StepError } from "../engine/step_error.ts";

/** True when GitHub Actions runs the command (it sets `GITHUB_ACTIONS=true`). */
export function inGitHubActions(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === "true";
}

/** Escapes a workflow command's message (`%`, CR and LF). */
function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** Escapes a workflow command's property value (also `:` and `,`). */
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

/** One `::error …::` line with the properties given (absent ones left out). */
export function errorCommand(
  message: string,
  properties: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const props = Object.entries(properties)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(",");
  return `::error${props ? ` ${props}` : ""}::${escapeData(message)}`;
}

/**
 * The annotations of a failure: one per problem of a bad plan (file, line, column, the field in
 * the message and title), one titled with the step for a failed step, one plain otherwise.
 * A plan path under `workspace` (`$GITHUB_WORKSPACE`) is given relative to it.
 */
export function annotationsOf(error: unknown, workspace?: string): string[] {
  if (error instanceof PlanError) {
    // GitHub places an annotation by the file's path in the repository.
    const file = workspace && isAbsolute(error.file) &&
        !relative(workspace, error.file).startsWith("..")
      ? relative(workspace, error.file)
      : error.file;
    return error.problems.map((problem) =>
      errorCommand(problem.field ? `${problem.field}: ${problem.message}` : problem.message, {
        file,
        line: problem.line,
        col: problem.column,
        title: problem.field ? `ca-rotator plan: ${problem.field}` : "ca-rotator plan",
      })
    );
  }
  if (error instanceof StepError) {
    return [errorCommand(error.message, { title: `ca-rotator step ${error.stepId}` })];
  }
  return [errorCommand(error instanceof Error ? error.message : String(error))];
}
