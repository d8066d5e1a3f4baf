/**
 * The dry-run diff renderer: unified diffs per node file and per API object with key material
 * masked, restarts and rolls one line each, a closing summary, and a JSON form.
 * @module
 */

export { escapeControl, paint, shouldUseColor, type Style, type TerminalLike } from "./color.ts";
export { type JsonChange, type JsonOptions, type JsonPlan, renderJson } from "./json.ts";
export { maskAll, maskSecrets } from "./mask.ts";
export { MASKED_PATTERN, maskedValue } from "./masked_value.ts";
export { maskSecretObject } from "./mask_secret_object.ts";
export { maskChange, type MaskedText } from "./mask_change.ts";
export { renderChanges, type RenderOptions } from "./render.ts";
export { type ChangeSummary, renderSummary, summarize } from "./summary.ts";
export { CONTEXT_LINES, unifiedDiff } from "./unified_diff.ts";
