/**
 * Masking of the data of Secret objects written as YAML or JSON text: every value under `data`
 * and `stringData`, and the `last-applied-configuration` annotation, replaced in place so the
 * rest of the text keeps its exact formatting; keys are kept.
 * @module
 */

import { isMap, isScalar, parseAllDocuments, visit } from "yaml";
import type { Node as YamlNode, Scalar } from "yaml";
import { isMasked, maskedValue } from "./masked_value.ts";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const SECRET_KIND = /^\s*["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*$/m;

/**
 * Replaces, in place, the value of every data/stringData entry (and the last-applied
 * annotation) of every Secret, also inside a List, so the rest of the text keeps its exact
 * formatting. A Secret that does not parse has its values masked line by line. With `force`,
 * each document's top-level object is taken for a Secret, and text that does not parse gives
 * `undefined`.
 */
export function maskSecretData(text: string, force: true): string | undefined;
export function maskSecretData(text: string, force?: false): string;
export function maskSecretData(text: string, force = false): string | undefined {
  if (!force && !/Secret/.test(text)) return text;
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((doc) => doc.errors.length > 0)) {
    if (force) return undefined;
    return SECRET_KIND.test(text) ? maskSecretLines(text) : text;
  }
  const ranges: Array<{ start: number; end: number; replacement: string }> = [];
  const add = (node: YamlNode | null | undefined) => {
    if (!node?.range) return;
    const [start, end] = node.range;
    const source = text.slice(start, end);
    const value = isScalar(node) ? String((node as Scalar).value ?? "") : source;
    if (isScalar(node) && isMasked(value)) return;
    const marker = maskedValue(value);
    const type = isScalar(node) ? (node as Scalar).type : undefined;
    const quote = type === "QUOTE_DOUBLE" ? '"' : type === "QUOTE_SINGLE" ? "'" : "";
    const newline = source.endsWith("\n") ? "\n" : "";
    ranges.push({ start, end, replacement: `${quote}${marker}${quote}${newline}` });
  };
  for (const doc of list) {
    visit(doc, {
      Map(_key, map) {
        if (map.get("kind") !== "Secret" && !(force && map === doc.contents)) return;
        for (const field of ["data", "stringData"]) {
          const values = map.get(field, true);
          if (isMap(values)) {
            for (const pair of values.items) add(pair.value as YamlNode | null);
          } else if (values) {
            add(values as YamlNode);
          }
        }
        const metadata = map.get("metadata", true);
        const annotations = isMap(metadata) ? metadata.get("annotations", true) : undefined;
        if (isMap(annotations)) {
          for (const pair of annotations.items) {
            const key = isScalar(pair.key) ? pair.key.value : pair.key;
            if (key === LAST_APPLIED) add(pair.value as YamlNode | null);
          }
        }
      },
    });
  }
  ranges.sort((a, b) => b.start - a.start);
  let masked = text;
  let limit = text.length;
  for (const { start, end, replacement } of ranges) {
    if (end > limit) continue; // inside a range already masked
    masked = masked.slice(0, start) + replacement + masked.slice(end);
    limit = start;
  }
  return masked;
}

// For a Secret that does not parse: mask every value (and continuation line) indented under a
// `data:` or `stringData:` line, and any flow value written on that line itself.
function maskSecretLines(text: string): string {
  const lines = text.split("\n");
  let blockIndent = -1;
  return lines.map((line) => {
    const indent = line.match(/^\s*/)?.[0] ?? "";
    if (blockIndent >= 0) {
      if (line.trim() === "") return line;
      if (indent.length > blockIndent) {
        const entry = line.match(/^(\s*["']?[^\s:"']+["']?\s*:[ \t]*)(.*)$/);
        if (entry) return entry[2] ? `${entry[1]}${maskedValue(entry[2])}` : line;
        return `${indent}${maskedValue(line.trim())}`;
      }
      blockIndent = -1;
    }
    const header = line.match(
      /^(\s*["']?(?:data|stringData|[^:]*last-applied-configuration)["']?\s*:[ \t]*)(.*)$/,
    );
    if (!header) return line;
    if (header[2].trim() === "" || /^[|>]/.test(header[2].trim())) {
      blockIndent = indent.length;
      return line;
    }
    return `${header[1]}${maskedValue(header[2])}`;
  }).join("\n");
}
