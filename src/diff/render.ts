/**
 * The text form of a dry run: what each change would do, as `kubectl diff` and a Terraform plan
 * show it, with key material masked.
 * @module
 */

import { type Change, type ChangeAction, hasChanges, targetName } from "../engine/change.ts";
import { escapeControl, paint } from "./color.ts";
import { maskChange } from "./mask_change.ts";
import { unifiedDiff } from "./unified_diff.ts";

/** How {@linkcode renderChanges} renders. */
export interface RenderOptions {
  /** ANSI colour; decide it with `shouldUseColor`. */
  readonly color: boolean;
  /** The step the changes belong to: each header is prefixed with `[step-id]`. */
  readonly stepId?: string;
}

const SYMBOL: Record<ChangeAction, string> = {
  create: "+",
  update: "~",
  delete: "-",
  restart: "~",
  roll: "~",
};

/**
 * Renders `changes` in order, skipping those with nothing to do: a header per change
 * (`~ update cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml`), then for files and objects
 * the unified diff of their masked text; restarts and rolls are one line each
 * (`~ restart cp-1/kube-apiserver`, `~ roll Deployment/default/web`). Empty when nothing is
 * left to do; otherwise ends with a newline.
 */
export function renderChanges(changes: readonly Change[], options: RenderOptions): string {
  const lines: string[] = [];
  for (const change of changes) {
    if (!hasChanges([change])) continue;
    lines.push(paint(header(change, options.stepId), "bold", options.color));
    if (change.target.type !== "file" && change.target.type !== "object") continue;
    const { before, after } = maskChange(change);
    const diff = unifiedDiff(targetName(change.target), before, after);
    for (const line of diff.split("\n")) {
      if (line !== "") lines.push(colorDiffLine(escapeControl(line), options.color));
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

function header(change: Change, stepId: string | undefined): string {
  const parts = [SYMBOL[change.action], change.action, targetName(change.target)];
  if (change.target.type === "file" && change.target.mode !== undefined) {
    parts.push(`(mode ${change.target.mode.toString(8).padStart(4, "0")})`);
  }
  if (change.sensitive) parts.push("(sensitive)");
  let text = parts.join(" ");
  if (change.reason) text += `  # ${change.reason}`;
  if (stepId !== undefined) text = `[${stepId}] ${text}`;
  return escapeControl(text);
}

function colorDiffLine(line: string, color: boolean): string {
  if (line.startsWith("--- ") || line.startsWith("+++ ")) return paint(line, "bold", color);
  if (line.startsWith("@@")) return paint(line, "cyan", color);
  if (line.startsWith("+")) return paint(line, "green", color);
  if (line.startsWith("-")) return paint(line, "red", color);
  return line;
}
