/**
 * Where a field of the plan is in its YAML text: line and column from the document's node
 * ranges, and the field path under a position (for YAML syntax errors).
 * @module
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type ParsedNode,
} from "yaml";
import type { PlanPath } from "./env.ts";

/** A 1-based line and column. */
export interface Location {
  readonly line: number;
  readonly column: number;
}

/**
 * The location of the deepest part of `path` present in the document: the key's position for a
 * map entry, the item's position for a list item (so a missing field points at its parent).
 */
export function locate(doc: Document, lineCounter: LineCounter, path: PlanPath): Location {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    node = resolve(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && keyOf(item.key) === segment);
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
      node = node.items[segment];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The path of the deepest map entry or list item whose text contains `offset`. */
export function pathAtOffset(doc: Document, offset: number): PlanPath {
  const path: PlanPath = [];
  let node: unknown = doc.contents;
  for (;;) {
    node = resolve(doc, node);
    let next: { segment: string | number; node: unknown } | undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const start = rangeStart(pair.key);
        const end = rangeEnd(pair.value) ?? rangeEnd(pair.key);
        if (start === undefined || end === undefined || offset < start || offset > end) continue;
        const key = keyOf(pair.key);
        const inKey = offset <= (rangeEnd(pair.key) ?? start);
        // A key made of broken text (say "trust kind" from a mis-indented line) is no field.
        if (inKey && /\s/.test(key)) return path;
        next = { segment: key, node: inKey ? undefined : pair.value };
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const start = rangeStart(item);
        const end = rangeEnd(item);
        if (start !== undefined && end !== undefined && start <= offset && offset <= end) {
          next = { segment: index, node: item };
        }
      });
    }
    if (!next) return path;
    path.push(next.segment);
    node = next.node;
  }
}

/** A path as a reader writes it: `steps[2].kind`, `steps[3].flags["--client-ca-file"]`. */
export function formatPath(path: PlanPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyOf(key: { value: unknown }): string {
  return String(key.value);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | ParsedNode | null | undefined)?.range?.[0];
}

function rangeEnd(node: unknown): number | undefined {
  return (node as Node | ParsedNode | null | undefined)?.range?.[1];
}
