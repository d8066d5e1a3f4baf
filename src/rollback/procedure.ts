/**
 * The rollback procedure of a rotation, derived from the undo declarations of the kinds of the
 * steps its progress record names (src/engine/undo.ts), never from kind names: for the switch
 * phase, then the trust phase, the undo kinds their steps name, in the order of `UNDO_KINDS`
 * (the one that keeps every client trusted), with that phase's window of writes; then the undo
 * kinds that run once; then the steps that run again; a warning for each write that is kept.
 * Refused — bad input, nothing changed — when nothing has run, or once the finalize phase (the
 * old CA leaving trust) has begun.
 * @module
 */
import type { Progress } from "../engine/progress.ts";
import { InputError } from "../plan/input_error.ts";
import type { Plan } from "../plan/schema.ts";
import type { StepFields } from "../plan/step_format.ts";
import type { Phase } from "../plan/phase.ts";
import type { StepKind } from "../engine/step.ts";
import type { UndoKind } from "../engine/undo.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { UNDO_KINDS } from "../steps/undo_kinds.ts";

/** What a rollback does, and what it undoes. */
export interface RollbackProcedure {
  /** The steps to run, in order (parsed: defaults filled in). */
  readonly steps: readonly StepFields[];
  /** The kinds of those steps. */
  readonly kinds: readonly StepKind[];
  /** The plan's steps that have run or begun, in plan order. */
  readonly undoes: readonly string[];
  /** What the rollback leaves as it is, to tell the operator. */
  readonly warnings: readonly string[];
}

/**
 * The procedure that undoes what `progress` records of `plan`, for the node files written
 * before `until` (when the rollback began).
 * @throws {InputError} when nothing is recorded, or the finalize phase has begun.
 */
export function rollbackProcedure(
  plan: Plan,
  progress: Progress | undefined,
  until: Date,
  kinds: readonly StepKind[] = STEP_KINDS,
): RollbackProcedure {
  const name = plan.metadata.name;
  const records = Object.entries(progress?.steps ?? {});
  if (records.length === 0) {
    const done = progress?.rollback?.finishedAt;
    throw new InputError(
      done
        ? `Nothing to roll back: the rotation of plan "${name}" was rolled back at ${done}`
        : `Nothing to roll back: no step of plan "${name}" has run (kube-system/ca-rotator-${name})`,
    );
  }
  const phaseOf = new Map(plan.steps.map((step) => [step.id, step.phase]));
  const unknown = records.filter(([id]) => !phaseOf.has(id)).map(([id]) => id);
  if (unknown.length > 0) {
    throw new InputError(
      `Cannot roll back with this plan: the progress record names steps it does not have ` +
        `(${unknown.join(", ")}); use the plan the rotation ran with`,
    );
  }
  const finalize = records.find(([id]) => phaseOf.get(id) === "finalize");
  if (finalize) {
    throw new InputError(
      `Cannot roll back: the finalize phase has begun (step "${finalize[0]}" is ` +
        `${finalize[1].status}): it removes the old CA from trust, and clients already on the ` +
        "new CA alone would be cut off — finish the rotation instead",
    );
  }
  const began = (phase: Phase) => {
    const starts = records.filter(([id]) => phaseOf.get(id) === phase)
      .map(([, record]) => record.startedAt ? Date.parse(record.startedAt) : NaN)
      .filter((time) => !Number.isNaN(time));
    return starts.length ? new Date(Math.min(...starts)).toISOString() : undefined;
  };
  const trustBegan = began("trust");
  const switchBegan = began("switch");
  const since = trustBegan ?? switchBegan;
  if (since === undefined) {
    throw new InputError(`Cannot roll back: the progress record of "${name}" has no start times`);
  }
  const kindOf = new Map(kinds.map((kind) => [kind.kind, kind]));
  const ran = plan.steps.filter((step) => progress!.steps[step.id]);
  const common = { until: until.toISOString(), resumed: progress?.rollback !== undefined };
  const steps: { step: Record<string, unknown>; kind: StepKind }[] = [];
  const named = new Set<UndoKind>();
  // The later phase first: each phase's undo kinds, with that phase's window.
  for (const [phase, began] of [["switch", switchBegan], ["trust", trustBegan]] as const) {
    if (began === undefined) continue;
    const byPhase = new Set(
      ran.filter((step) => step.phase === phase).flatMap((step) => {
        const undo = kindNamed(kindOf, step.kind).undo;
        return "by" in undo ? undo.by : [];
      }),
    );
    for (const undoKind of UNDO_KINDS.filter((each) => byPhase.has(each))) {
      named.add(undoKind);
      if (undoKind.scope !== "phase") continue;
      steps.push({
        step: {
          id: `undo-${phase}-${undoKind.undoId}`,
          phase,
          kind: undoKind.kind,
          since: began,
          ...common,
        },
        kind: undoKind,
      });
    }
  }
  // Then those that run once, over the whole window, once every phase's files are back.
  for (
    const undoKind of UNDO_KINDS.filter((each) => each.scope === "rollback" && named.has(each))
  ) {
    steps.push({
      step: {
        id: `undo-${undoKind.undoId}`,
        phase: "trust",
        kind: undoKind.kind,
        since,
        ...common,
      },
      kind: undoKind,
    });
  }
  // Then the steps that run again, in plan order; and a warning for each write that is kept.
  const warnings: string[] = [];
  for (const step of ran) {
    const kind = kindNamed(kindOf, step.kind);
    if ("rerun" in kind.undo) steps.push({ step: { ...step, id: `undo-${step.id}` }, kind });
    if ("kept" in kind.undo) {
      warnings.push(`step "${step.id}" (${step.kind}) is not rolled back: ${kind.undo.kept}`);
    }
  }
  return {
    steps: steps.map(({ step, kind }) => kind.schema.parse(step)),
    kinds: [...new Set(steps.map(({ kind }) => kind))],
    undoes: ran.map((step) => step.id),
    warnings,
  };
}

/** The kind of a plan step; a kind the run does not know is a programming error. */
function kindNamed(kinds: ReadonlyMap<string, StepKind>, name: string): StepKind {
  const kind = kinds.get(name);
  if (!kind) throw new Error(`Cannot roll back: no step kind "${name}"`);
  return kind;
}
