/**
 * Environment substitution in plan values: `${NAME}`, `${NAME:-default}` (used when NAME is
 * unset or empty), `$${` for a literal `${`. `$NAME` without braces is left alone, so shell
 * commands in a plan keep their own variables.
 * @module
 */

/** A path into the plan's data: keys and list indexes. */
export type PlanPath = (string | number)[];

/** A problem found while substituting. */
export interface EnvProblem {
  readonly path: PlanPath;
  readonly message: string;
}

/** The outcome of {@link substituteEnv}. */
export interface EnvSubstitution {
  /** The data with every reference replaced. */
  readonly value: unknown;
  readonly problems: EnvProblem[];
  /**
   * The paths (as {@link pathKey}) of values that were exactly one reference: such a value
   * given where a list is expected stands for the whitespace-separated words of the variable.
   */
  readonly wholeReferences: Set<string>;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)(\}|$)/g;
const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const WHOLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** A stable key for a path. */
export function pathKey(path: PlanPath): string {
  return JSON.stringify(path);
}

/** Replaces `${NAME}` references in every string of the data, depth first. */
export function substituteEnv(
  data: unknown,
  env: Record<string, string | undefined>,
): EnvSubstitution {
  const problems: EnvProblem[] = [];
  const wholeReferences = new Set<string>();

  const substitute = (text: string, path: PlanPath): string =>
    text.replace(REFERENCE, (match, body: string | undefined, close: string | undefined) => {
      if (match === "$${") return "${";
      const name = NAME.exec(body ?? "");
      if (!close || !name) {
        problems.push({
          path,
          message: `malformed reference "${match}" (expected \${NAME} or \${NAME:-default})`,
        });
        return match;
      }
      const [, variable, fallback] = name;
      const value = env[variable];
      if (fallback !== undefined && (value === undefined || value === "")) return fallback;
      if (value === undefined) {
        problems.push({ path, message: `environment variable ${variable} is not set` });
        return match;
      }
      return value;
    });

  const walk = (value: unknown, path: PlanPath): unknown => {
    if (typeof value === "string") {
      if (WHOLE.test(value)) wholeReferences.add(pathKey(path));
      return substitute(value, path);
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return value;
  };

  return { value: walk(data, []), problems, wholeReferences };
}

/** The whitespace-separated words of a value, as a shell splits `$NODE_ROOTS`. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}
