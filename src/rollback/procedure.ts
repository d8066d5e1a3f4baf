/**
 * The rollback procedure of a rotation, derived from its plan and its progress record: the
 * switch undone first, then the trust phase, each in the order that keeps every client trusted
 * (docs/architecture.md, "Roll back"). Refused — bad input, nothing changed — when nothing has
 * run, or once the finalize phase (the old CA leaving trust) has begun.
 * @module
 */
import type { Progress } from "../engine/progress.ts";
import { InputError } from "../plan/input_error.ts";
import type { Plan } from "../plan/schema.ts";
import type { StepFields } from "../plan/step_format.ts";
import type { Phase } from "../plan/phase.ts";
import { ROLLBACK_KINDS } from "./kinds.ts";

/** What a rollback does, and what it undoes. */
export interface RollbackProcedure {
  /** The steps to run, in order (parsed: defaults filled in). */
  readonly steps: readonly StepFields[];
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
  const window = { since, until: until.toISOString() };
  const steps: Record<string, unknown>[] = [];
  if (switchBegan) {
    steps.push(
      {
        id: "undo-switch-control-plane",
        phase: "switch",
        kind: "restore-control-plane",
        since: switchBegan,
        until: window.until,
      },
      { id: "undo-switch-kubelet-clients", phase: "switch", kind: "reissue-kubelet-clients" },
    );
  }
  steps.push(
    {
      id: "undo-trust-kubelets",
      phase: "trust",
      kind: "restore-kubelets",
      ...window,
      resumed: progress?.rollback !== undefined,
    },
    { id: "undo-trust-control-plane", phase: "trust", kind: "restore-control-plane", ...window },
    { id: "undo-cluster-trust", phase: "trust", kind: "restore-cluster-trust" },
  );
  const warnings: string[] = [];
  for (const step of plan.steps) {
    if (!progress!.steps[step.id]) continue;
    if (step.kind === "roll-workloads" && step.phase === "trust") {
      // The pods it restarted trust the bundle: restarted again, they trust the old CA only.
      steps.push({ ...step, id: `undo-${step.id}` });
    }
    const objects = (step as { objects?: unknown[] }).objects;
    if (step.kind === "update-ca-bundles" && Array.isArray(objects) && objects.length > 0) {
      warnings.push(
        `step "${step.id}" changed the caBundle of ${objects.join(", ")}: not rolled back ` +
          "(the bundle still holds the old CA, so they keep working)",
      );
    }
  }
  const kinds = new Map(ROLLBACK_KINDS.map((kind) => [kind.kind, kind]));
  return {
    steps: steps.map((step) => kinds.get(step.kind as string)!.schema.parse(step)),
    undoes: plan.steps.filter((step) => progress!.steps[step.id]).map((step) => step.id),
    warnings,
  };
}
