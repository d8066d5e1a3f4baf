/**
 * Undo belongs to the step kind: each kind declares how `rollback` reverts what it wrote, as
 * Terraform's destroy walks the plan's own graph. The rollback procedure is derived from these
 * declarations and the progress record (src/rollback/procedure.ts), never from kind names.
 * @module
 */
import type { StepKind } from "./step.ts";
import type { StepFields } from "../plan/step_format.ts";

/**
 * How a rollback reverts what a step of a kind wrote:
 * - `by`: the undo kinds that revert it (they restore what the nodes' journal of writes held,
 *   or the prior API objects, or re-issue what it made issue), run once for all the steps of a
 *   phase that name them;
 * - `rerun`: the step runs again once trust is restored (a roll: restarted again, the pods read
 *   the restored trust); the text says why;
 * - `kept`: it writes something a rollback deliberately leaves as it is; the text says why, and
 *   a rollback warns of it for each such step that ran;
 * - `nothing`: it writes nothing a rollback must revert (it reads, waits or checks); the text
 *   says why.
 */
export type Undo =
  | { readonly by: readonly UndoKind[] }
  | { readonly rerun: string }
  | { readonly kept: string }
  | { readonly nothing: string };

/** The fields a rollback gives every undo step: the window of writes it reverts. */
export interface UndoFields extends StepFields {
  /** Revert the writes made from this moment (ISO 8601, the phase's first start) … */
  readonly since: string;
  /** … until this one: when the rollback began (later writes are its own). */
  readonly until: string;
  /** True when a rollback runs again after an interruption. */
  readonly resumed: boolean;
}

/** A step kind only a rollback runs: it reverts what the steps that name it in `by` wrote. */
export interface UndoKind<S extends UndoFields = UndoFields, O = unknown> extends StepKind<S, O> {
  /** Its step's id in a rollback: `undo-<phase>-<undoId>`, or `undo-<undoId>` once per rollback. */
  readonly undoId: string;
  /**
   * `phase`: runs once for each phase whose steps name it, with that phase's window, the later
   * phase first; `rollback`: runs once, after every phase's, with the whole window.
   */
  readonly scope: "phase" | "rollback";
}

/**
 * Declares an undo kind; the step's type is inferred from its schema. A rollback re-checks no
 * drift, so its kinds declare none.
 */
export function defineUndoKind<S extends UndoFields, O>(
  kind: Omit<UndoKind<S, O>, "drift">,
): UndoKind<S, O> {
  return { ...kind, drift: { none: "a rollback's own step: a rollback re-checks nothing" } };
}

/** What is wrong with a kind's undo declaration (a kind must declare one), or undefined. */
export function undoDeclarationProblem(kind: StepKind): string | undefined {
  const undo = (kind as { undo?: Undo }).undo;
  if (undo === undefined) return `${kind.kind}: declares no undo (by, rerun, kept or nothing)`;
  if ("by" in undo) {
    return undo.by.length === 0 ? `${kind.kind}: undo.by names no undo kind` : undefined;
  }
  const reason = "rerun" in undo ? undo.rerun : "kept" in undo ? undo.kept : undo.nothing;
  return typeof reason === "string" && reason.trim().length > 0
    ? undefined
    : `${kind.kind}: its undo declaration gives no reason`;
}
