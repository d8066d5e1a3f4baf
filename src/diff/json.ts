/**
 * The machine form of a dry run, for `--output json`: the same changes and summary as the text
 * form, with the same masking.
 * @module
 */

import {
  type Change,
  type ChangeAction,
  type ChangeTarget,
  hasChanges,
  targetName,
} from "../engine/change.ts";
import { maskChange } from "./mask_change.ts";
import { type ChangeSummary, summarize } from "./summary.ts";
import { unifiedDiff } from "./unified_diff.ts";

/** One change as JSON: never raw text, only its masked unified diff. */
export interface JsonChange {
  readonly stepId?: string;
  readonly action: ChangeAction;
  /** `targetName` of the target, e.g. `cp-1:/etc/kubernetes/pki/ca.crt`. */
  readonly name: string;
  readonly target: ChangeTarget;
  readonly sensitive: boolean;
  readonly reason?: string;
  /** For files and objects: the unified diff of the masked text (empty if only masked content differs). */
  readonly diff?: string;
}

/** The JSON document of a dry run. */
export interface JsonPlan {
  readonly changes: JsonChange[];
  readonly summary: ChangeSummary;
}

/** Options of {@linkcode renderJson}. */
export interface JsonOptions {
  /** The step the changes belong to, recorded on each change. */
  readonly stepId?: string;
}

/**
 * A JSON-serializable structure of `changes` (those with nothing to do left out) and their
 * summary. Text appears only as the unified diff of its masked form, so no key material can
 * reach the JSON.
 */
export function renderJson(changes: readonly Change[], options: JsonOptions = {}): JsonPlan {
  const out: JsonChange[] = [];
  for (const change of changes) {
    if (!hasChanges([change])) continue;
    const name = targetName(change.target);
    const textual = change.target.type === "file" || change.target.type === "object";
    const masked = textual ? maskChange(change) : undefined;
    out.push({
      ...(options.stepId === undefined ? {} : { stepId: options.stepId }),
      action: change.action,
      name,
      target: { ...change.target },
      sensitive: change.sensitive === true,
      ...(change.reason === undefined ? {} : { reason: change.reason }),
      ...(masked === undefined ? {} : { diff: unifiedDiff(name, masked.before, masked.after) }),
    });
  }
  return { changes: out, summary: summarize(changes) };
}
