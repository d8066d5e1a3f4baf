/**
 * Loads a plan: YAML (with line numbers), environment substitution, schema and rules, digests.
 * A bad plan is refused with a {@link PlanError} naming the file, the line and the field of
 * every problem, before anything is touched.
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { type Document, LineCounter, parseDocument } from "yaml";
import { CA_NAMES } from "./ca.ts";
import { planDigest, stepDigests } from "./digest.ts";
import { pathKey, type PlanPath, substituteEnv, words } from "./env.ts";
import { describeIssue, type PathProblem, valueAt } from "./issue_message.ts";
import { formatPath, locate, pathAtOffset } from "./locate.ts";
import type { NodeGroup } from "./nodes.ts";
import { PlanError, type PlanProblem } from "./plan_error.ts";
import { type Plan, planSchema } from "./schema.ts";
import type { StepFields, StepFormat } from "./step_format.ts";

export { PlanError } from "./plan_error.ts";

/** The plan format of a set of step kinds: their list and the plan schema derived from it. */
export interface PlanFormat<S extends StepFields = StepFields> {
  readonly kinds: readonly StepFormat<S>[];
  readonly schema: ReturnType<typeof planSchema<S>>;
}

/** The plan format of the given step kinds. */
export function planFormat<S extends StepFields>(kinds: readonly StepFormat<S>[]): PlanFormat<S> {
  return { kinds, schema: planSchema(kinds) };
}

/** A loaded plan and its digests; of ca-rotator's step kinds, `LoadedPlan<PlanStep>`. */
export interface LoadedPlan<S extends StepFields = StepFields> {
  /** The plan file, as given. */
  readonly path: string;
  /**
   * The plan; the paths it names on this machine (`files` CA sources, `local` node roots, an
   * ssh `identityFile`) are resolved against the plan file's directory.
   */
  readonly plan: Plan<S>;
  /** `sha256:…` of the plan without `stopAfter` and tuning fields (see `digest.ts`). */
  readonly digest: string;
  /** Each step's digest, by step id. */
  readonly stepDigests: Record<string, string>;
}

/**
 * Reads and loads a plan file; `env` (default: the process environment) fills `${NAME}`.
 * Besides {@link parsePlanWith}'s checks, the files a `files` CA source names must exist.
 */
export async function loadPlanWith<S extends StepFields>(
  format: PlanFormat<S>,
  path: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<LoadedPlan<S>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read the file: ${error instanceof Error ? error.message : String(error)}`;
    throw new PlanError(path, [{ message: reason }]);
  }
  const { loaded, where } = analyze(format, text, path, env);
  const missing: PathProblem[] = [];
  for (const ca of CA_NAMES) {
    const source = loaded.plan.cas[ca];
    if (source?.source !== "files") continue;
    for (const field of ["cert", "key"] as const) {
      if (!(await exists(source[field]))) {
        missing.push({ path: ["cas", ca, field], message: `file not found: ${source[field]}` });
      }
    }
  }
  if (missing.length) throw new PlanError(path, missing.map(where));
  return loaded;
}

/** Loads a plan from its text (pure: no file or environment access beyond `env`). */
export function parsePlanWith<S extends StepFields>(
  format: PlanFormat<S>,
  text: string,
  path: string,
  env: Record<string, string | undefined> = {},
): LoadedPlan<S> {
  return analyze(format, text, path, env).loaded;
}

function analyze<S extends StepFields>(
  format: PlanFormat<S>,
  text: string,
  path: string,
  env: Record<string, string | undefined>,
) {
  const schema = format.schema;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const where = locator(doc, lineCounter);

  if (doc.errors.length) throw new PlanError(path, syntaxProblems(doc, lineCounter, text));

  const raw = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) {
    throw new PlanError(path, [{ line: 1, message: "the plan is empty" }]);
  }
  const substituted = substituteEnv(raw, env);
  if (substituted.problems.length) {
    throw new PlanError(path, sortByLine(substituted.problems.map(where)));
  }

  let data = substituted.value;
  let result = schema.safeParse(data);
  // A whole `${NAME}` where a list (or number, boolean) is expected stands for its words
  // (its number, its boolean): adjust those values and parse again.
  for (let round = 0; !result.success && round < 8; round++) {
    const adjusted = adjustWholeReferences(data, result.error.issues, substituted.wholeReferences);
    if (adjusted === undefined) break;
    data = adjusted;
    result = schema.safeParse(data);
  }
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => describeIssue(issue, data, schema));
    throw new PlanError(path, sortByLine(problems.map(where)));
  }

  const plan = result.data;
  const loaded: LoadedPlan<S> = {
    path,
    plan: resolveFiles(plan, dirname(path)),
    digest: planDigest(plan, format.kinds),
    stepDigests: stepDigests(plan, format.kinds),
  };
  return { loaded, where };
}

function locator(doc: Document, lineCounter: LineCounter) {
  return (problem: PathProblem): PlanProblem => {
    const { line, column } = locate(doc, lineCounter, problem.path);
    return { line, column, field: formatPath(problem.path), message: problem.message };
  };
}

function sortByLine(problems: PlanProblem[]): PlanProblem[] {
  return problems.toSorted((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

type Issue = { code: string; path: PropertyKey[]; expected?: string; errors?: Issue[][] };

/** Data with whole references converted where the schema wants another type; else undefined. */
function adjustWholeReferences(
  data: unknown,
  issues: readonly Issue[],
  wholeReferences: Set<string>,
): unknown {
  let changed = false;
  let next = data;
  for (const issue of issues) {
    const path = issue.path as PlanPath;
    if (!wholeReferences.has(pathKey(path))) continue;
    const value = valueAt(next, path);
    if (typeof value !== "string") continue;
    // The issue itself, or for a union, its alternatives' issues at the union's own place.
    const candidates = [issue, ...(issue.errors ?? []).flat().filter((i) => i.path.length === 0)];
    const expected = new Set(
      candidates.filter((i) => i.code === "invalid_type").map((i) => i.expected),
    );
    let replacement: unknown = value;
    if (expected.has("array")) replacement = words(value);
    else if ((expected.has("number") || expected.has("int")) && /^\d+$/.test(value.trim())) {
      replacement = Number(value);
    } else if (expected.has("boolean") && /^(true|false)$/.test(value.trim())) {
      replacement = value.trim() === "true";
    }
    if (replacement === value) continue;
    next = setAt(next, path, replacement);
    changed = true;
  }
  return changed ? next : undefined;
}

function setAt(data: unknown, path: PlanPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(data)) {
    return data.map((item, index) => index === head ? setAt(item, rest, value) : item);
  }
  const object = data as Record<string, unknown>;
  return { ...object, [head]: setAt(object[head], rest, value) };
}

/**
 * The plan with the paths it names on this machine resolved against the plan file's
 * directory: `files` CA sources, `local` node roots and an ssh `identityFile` (one starting
 * with `~` is left to ssh). The digests are of the plan as written.
 */
function resolveFiles<P extends Plan<StepFields>>(plan: P, base: string): P {
  const absolute = (file: string) => isAbsolute(file) ? file : resolve(base, file);
  const cas = { ...plan.cas };
  for (const ca of CA_NAMES) {
    const source = cas[ca];
    if (source?.source !== "files") continue;
    cas[ca] = { ...source, cert: absolute(source.cert), key: absolute(source.key) };
  }
  const group = (nodes: NodeGroup | undefined): NodeGroup | undefined => {
    if (nodes?.driver === "local") return { ...nodes, roots: nodes.roots.map(absolute) };
    if (nodes?.driver === "ssh" && nodes.identityFile && !nodes.identityFile.startsWith("~")) {
      return { ...nodes, identityFile: absolute(nodes.identityFile) };
    }
    return nodes;
  };
  const nodes = {
    ...plan.nodes,
    controlPlane: group(plan.nodes.controlPlane)!,
    ...(plan.nodes.workers ? { workers: group(plan.nodes.workers) } : {}),
  };
  return { ...plan, cas, nodes };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The most YAML syntax errors told: after the first, most follow from it. */
const MAX_SYNTAX_PROBLEMS = 5;

/**
 * A document's YAML syntax errors as problems: the first of each line, at most
 * {@link MAX_SYNTAX_PROBLEMS}, and a hint when the first error's line holds an unquoted `${VAR}`
 * (in a flow mapping `{ … }` the `{` of `${` opens another mapping).
 */
function syntaxProblems(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  text: string,
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const lines = new Set<number>();
  for (const error of doc.errors) {
    const offset = error.pos[0];
    const { line, col } = error.linePos?.[0] ?? lineCounter.linePos(offset);
    if (lines.has(line)) continue;
    lines.add(line);
    let message = `YAML syntax error: ${
      error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")
    }`;
    const source = text.split("\n")[line - 1] ?? "";
    const unquoted = problems.length === 0
      ? /(?<!["'])\$\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(source)
      : null;
    if (unquoted) {
      message +=
        `; quote the variable: "${unquoted[0]}" (unquoted, the "{" of "\${" opens a YAML ` +
        "mapping)";
    }
    problems.push({
      line,
      column: col,
      showColumn: true,
      field: formatPath(pathAtOffset(doc, offset)),
      message,
    });
  }
  if (problems.length > MAX_SYNTAX_PROBLEMS) {
    const more = problems.length - MAX_SYNTAX_PROBLEMS;
    return [
      ...problems.slice(0, MAX_SYNTAX_PROBLEMS),
      {
        message: `${more} more YAML syntax error${
          more === 1 ? "" : "s"
        } after these (most follow from the first)`,
      },
    ];
  }
  return problems;
}
