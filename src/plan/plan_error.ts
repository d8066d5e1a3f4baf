/**
 * The error a bad plan is refused with: every problem, each on its own line, naming the file,
 * the line and the field.
 * @module
 */

/** One problem in a plan. */
export interface PlanProblem {
  /** 1-based line in the plan file, when the problem has a place. */
  readonly line?: number;
  /** 1-based column. */
  readonly column?: number;
  /** The field path, e.g. `steps[2].kind`. */
  readonly field?: string;
  /** What is wrong, e.g. `unknown step kind "restart-everything" (expected one of: …)`. */
  readonly message: string;
  /** Whether the column is worth showing (YAML syntax errors). */
  readonly showColumn?: boolean;
}

/**
 * A plan that cannot be loaded. `line`, `column` and `field` are those of the first problem;
 * `problems` holds them all. The message has one line per problem, e.g.
 * `Cannot load plan "plans/x.yaml": line 12, steps[2].kind: unknown step kind "x" (…)`.
 */
export class PlanError extends Error {
  override readonly name = "PlanError";
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
  readonly problems: readonly PlanProblem[];

  constructor(file: string, problems: readonly PlanProblem[]) {
    super(problems.map((problem) => formatProblem(file, problem)).join("\n"));
    this.file = file;
    this.problems = problems;
    this.line = problems[0]?.line;
    this.column = problems[0]?.column;
    this.field = problems[0]?.field;
  }
}

/** One problem as one line of a {@link PlanError}'s message. */
export function formatProblem(file: string, problem: PlanProblem): string {
  const place = [
    problem.line !== undefined ? `line ${problem.line}` : undefined,
    problem.showColumn && problem.column !== undefined ? `column ${problem.column}` : undefined,
    problem.field || undefined,
  ].filter((part) => part !== undefined);
  return `Cannot load plan "${file}": ${
    place.length ? `${place.join(", ")}: ` : ""
  }${problem.message}`;
}
