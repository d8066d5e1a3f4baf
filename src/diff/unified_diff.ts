/**
 * A unified diff of two texts, as `diff -u` and `git diff` print it, on top of `npm:diff`.
 * @module
 */

import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from "diff";

/** Lines of context around each change, as `diff -u` and `git diff` use. */
export const CONTEXT_LINES = 3;

/**
 * The unified diff from `before` to `after` of the file or object called `name`, labelled
 * `a/<name>` and `b/<name>` (`/dev/null` for a side that does not exist), with
 * {@linkcode CONTEXT_LINES} lines of context. Empty when the texts are equal.
 */
export function unifiedDiff(
  name: string,
  before: string | undefined,
  after: string | undefined,
): string {
  if ((before ?? "") === (after ?? "") && (before === undefined) === (after === undefined)) {
    return "";
  }
  const patch = structuredPatch(
    before === undefined ? "/dev/null" : `a/${name}`,
    after === undefined ? "/dev/null" : `b/${name}`,
    before ?? "",
    after ?? "",
    undefined,
    undefined,
    { context: CONTEXT_LINES },
  );
  if (patch.hunks.length === 0) {
    // An empty file created or deleted: headers only, as git prints them.
    return `--- ${patch.oldFileName}\n+++ ${patch.newFileName}\n`;
  }
  return formatPatch(patch, FILE_HEADERS_ONLY);
}
