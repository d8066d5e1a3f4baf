/**
 * Kubernetes label selectors, as `kubectl get -l` and the API's `labelSelector` read them:
 * comma-separated requirements, each `key`, `!key`, `key=value` (or `==`), `key!=value`,
 * `key in (a,b)`, `key notin (a,b)`, `key>n` or `key<n`; an empty selector matches everything.
 * Parsed once, where the plan is checked, so a bad selector is bad input naming its field, and
 * matched here, so every node group and exclusion sees the same snapshot of the Nodes.
 * @module
 */

/** The operators of a requirement. */
export type SelectorOperator =
  | "exists"
  | "!exists"
  | "="
  | "!="
  | "in"
  | "notin"
  | ">"
  | "<";

/** One requirement of a selector. */
export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** The values (one for `=`, `!=`, `>`, `<`; one or more for `in`/`notin`; none otherwise). */
  readonly values: readonly string[];
}

/** A parsed selector: every requirement must hold. */
export interface LabelSelector {
  /** The selector as written. */
  readonly text: string;
  readonly requirements: readonly SelectorRequirement[];
}

/** A selector that does not parse, with what is wrong. */
export class LabelSelectorError extends Error {
  override name = "LabelSelectorError";
}

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const INTEGER = /^-?[0-9]+$/;

/** Why `key` is not a label key (a qualified name with an optional DNS prefix), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `"${key}" is not a label key: its prefix "${prefix}" must be a DNS subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return `"${key}" is not a label key: its name must be 1–63 characters, alphanumeric, ` +
      "'-', '_' or '.', starting and ending with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a label value, or undefined (the empty value is one). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return `"${value}" is not a label value: at most 63 characters, alphanumeric, '-', '_' or ` +
      "'.', starting and ending with an alphanumeric character";
  }
  return undefined;
}

type Token =
  | { kind: "word"; text: string }
  | { kind: "op"; text: "!" | "=" | "==" | "!=" | ">" | "<" | "(" | ")" | "," };

const SPECIAL = new Set(["!", "=", ">", "<", "(", ")", ","]);

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (SPECIAL.has(char)) {
      const two = text.slice(at, at + 2);
      if (two === "==" || two === "!=") {
        out.push({ kind: "op", text: two });
        at += 2;
      } else {
        out.push({ kind: "op", text: char as "!" });
        at++;
      }
      continue;
    }
    let end = at;
    while (end < text.length && !SPECIAL.has(text[end]) && !/\s/.test(text[end])) end++;
    out.push({ kind: "word", text: text.slice(at, end) });
    at = end;
  }
  return out;
}

/**
 * Parses a selector.
 * @throws {LabelSelectorError} naming what is wrong.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const list = tokens(text);
  let at = 0;
  const peek = () => list[at];
  const describe = (token: Token | undefined) => token ? `"${token.text}"` : "the end";
  const fail = (message: string): never => {
    throw new LabelSelectorError(message);
  };
  const word = (what: string): string => {
    const token = list[at++];
    if (token?.kind !== "word") fail(`expected ${what}, found ${describe(token)}`);
    return (token as { text: string }).text;
  };
  const key = (): string => {
    const name = word("a label key");
    const problem = labelKeyProblem(name);
    if (problem) fail(problem);
    return name;
  };
  const value = (): string => {
    // `key=` and `key in (a,)` give the empty value.
    const token = peek();
    if (token === undefined || token.kind === "op") return "";
    at++;
    const problem = labelValueProblem(token.text);
    if (problem) fail(problem);
    return token.text;
  };
  const requirements: SelectorRequirement[] = [];
  if (list.length === 0) return { text, requirements };
  for (;;) {
    const first = peek();
    if (first?.kind === "op" && first.text === "!") {
      at++;
      requirements.push({ key: key(), operator: "!exists", values: [] });
    } else {
      const name = key();
      const next = peek();
      if (next === undefined || (next.kind === "op" && next.text === ",")) {
        requirements.push({ key: name, operator: "exists", values: [] });
      } else if (next.kind === "word" && (next.text === "in" || next.text === "notin")) {
        at++;
        const open = list[at++];
        if (open?.kind !== "op" || open.text !== "(") {
          fail(`expected "(" after "${name} ${next.text}", found ${describe(open)}`);
        }
        const values: string[] = [];
        for (;;) {
          values.push(value());
          const sep = list[at++];
          if (sep?.kind === "op" && sep.text === ")") break;
          if (sep?.kind !== "op" || sep.text !== ",") {
            fail(`expected "," or ")" in the values of "${name}", found ${describe(sep)}`);
          }
        }
        if (values.length === 1 && values[0] === "" && list[at - 2]?.text === "(") {
          fail(`"${name} ${next.text} ()" needs at least one value`);
        }
        requirements.push({ key: name, operator: next.text, values });
      } else if (next.kind === "op" && ["=", "==", "!=", ">", "<"].includes(next.text)) {
        at++;
        const operator = next.text === "==" ? "=" : next.text as "=" | "!=" | ">" | "<";
        const given = value();
        if ((operator === ">" || operator === "<") && !INTEGER.test(given)) {
          fail(`"${name}${operator}" needs an integer, found "${given}"`);
        }
        requirements.push({ key: name, operator, values: [given] });
      } else {
        fail(
          `expected an operator (=, ==, !=, in, notin, >, <) or "," after "${name}", ` +
            `found ${describe(next)}`,
        );
      }
    }
    const sep = list[at++];
    if (sep === undefined) break;
    if (sep.kind !== "op" || sep.text !== ",") {
      fail(`expected "," between requirements, found ${describe(sep)}`);
    }
  }
  return { text, requirements };
}

/** Whether a Node (or any object) with these labels matches the selector. */
export function matchesLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector.requirements.every((requirement) => {
    const has = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
      case "in":
        return has && requirement.values.includes(value);
      case "!=":
      case "notin":
        return !has || !requirement.values.includes(value);
      case ">":
      case "<": {
        if (!has || !INTEGER.test(value)) return false;
        const label = Number(value);
        const bound = Number(requirement.values[0]);
        return requirement.operator === ">" ? label > bound : label < bound;
      }
    }
  });
}
