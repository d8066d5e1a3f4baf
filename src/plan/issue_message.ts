/**
 * Zod issues, rewritten for the reader of a plan: `is missing`, `unknown step kind "x"
 * (expected one of: …)`, `unknown field (did you mean "batchSize"?)`.
 * @module
 */
import { z } from "zod";
import type { PlanPath } from "./env.ts";
import { PHASES } from "./phase.ts";

/** A problem at a path, before it is located in the text. */
export interface PathProblem {
  readonly path: PlanPath;
  readonly message: string;
}

/** The nouns used for unknown values of well-known fields. */
const FIELD_NOUNS: Record<string, string> = {
  stopAfter: "phase",
  phase: "phase",
  component: "component",
  algorithm: "algorithm",
  preset: "layout preset",
  driver: "node driver",
  source: "CA source",
  ca: "CA",
  on: "node group",
  kinds: "workload kind",
  checks: "check",
};

/** Rewrites one zod issue as one or more problems; `data` is the value that was parsed. */
export function describeIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  schema: z.ZodType,
): PathProblem[] {
  const path = issue.path.filter((segment) => typeof segment !== "symbol") as PlanPath;
  const value = valueAt(data, path);
  const noun = nounFor(path);
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return [{ path, message: "is missing" }];
      return [{ path, message: `expected ${expectedNoun(issue.expected)}, got ${show(value)}` }];
    case "invalid_union": {
      if (!("discriminator" in issue) || !issue.discriminator) {
        return [{ path, message: issue.message }];
      }
      const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
      const expected = `(expected one of: ${options.join(", ")})`;
      if (value === undefined) return [{ path, message: `is missing ${expected}` }];
      return [{ path, message: `unknown ${noun} ${show(value)} ${expected}` }];
    }
    case "invalid_value": {
      const values = issue.values.map((v) => String(v));
      if (value === undefined) return [{ path, message: "is missing" }];
      if (values.length === 1) {
        return [{ path, message: `expected ${JSON.stringify(values[0])}, got ${show(value)}` }];
      }
      const what = values.join() === PHASES.join() ? "phase" : noun;
      return [{
        path,
        message: `unknown ${what} ${show(value)} (expected one of: ${values.join(", ")})`,
      }];
    }
    case "unrecognized_keys": {
      const known = knownKeys(schema, data, path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown field${known ? ` ${hint(key, known)}` : ""}`,
      }));
    }
    case "invalid_key":
      return [{ path, message: `invalid key: ${issue.issues[0]?.message ?? issue.message}` }];
    case "invalid_element":
      return [{ path, message: issue.issues[0]?.message ?? issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** The value at a path, or `undefined`. */
export function valueAt(data: unknown, path: PlanPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

function nounFor(path: PlanPath): string {
  const names = path.filter((segment): segment is string => typeof segment === "string");
  const last = names.at(-1) ?? "";
  if (last === "kind") return path[0] === "steps" ? "step kind" : "kind";
  return FIELD_NOUNS[last] ?? "value";
}

function expectedNoun(expected: string): string {
  switch (expected) {
    case "array":
      return "a list";
    case "object":
    case "record":
      return "a mapping";
    case "boolean":
      return "true or false";
    case "int":
      return "a whole number";
    default:
      return `a ${expected}`;
  }
}

function show(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

function hint(key: string, known: string[]): string {
  const near = known.find((candidate) =>
    candidate.toLowerCase() === key.toLowerCase() || editDistance(candidate, key) <= 2
  );
  return near ? `(did you mean "${near}"?)` : `(expected one of: ${known.join(", ")})`;
}

/** The keys the strict object at `path` accepts, found by walking the schema with the data. */
function knownKeys(schema: z.ZodType, data: unknown, path: PlanPath): string[] | undefined {
  let current: z.ZodType | undefined = schema;
  let value = data;
  for (const segment of path) {
    current = pick(unwrap(current), value);
    if (current instanceof z.ZodObject) current = current.shape[segment as string];
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else return undefined;
    value = valueAt(value, [segment]);
  }
  current = pick(unwrap(current), value);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPrefault) {
      current = current.def.innerType as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** For a discriminated union, the option the data's discriminator selects. */
function pick(schema: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return schema;
  const discriminator = schema.def.discriminator;
  const selected = valueAt(value, [discriminator]);
  return (schema.options as z.ZodType[]).find((option) => {
    const literal = option instanceof z.ZodObject ? option.shape[discriminator] : undefined;
    return literal instanceof z.ZodLiteral && literal.values.has(selected as never);
  });
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length];
}
