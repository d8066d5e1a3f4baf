/**
 * What the plan format knows of one step kind: its parameter schema, the phases it may run in,
 * the CAs it acts on, its cross-field rules and which of its fields are tuning. The plan schema,
 * rules and digests are derived from a list of these; the engine's `StepKind` adds behaviour.
 * @module
 */
import { z } from "zod";
import type { CaName } from "./ca.ts";
import { dnsLabel } from "./fields.ts";
import { type Phase, PHASES } from "./phase.ts";
import type { PlanSettings } from "./schema.ts";

/** The fields every step has; the rest are its kind's parameters. */
export interface StepFields {
  readonly id: string;
  readonly phase: Phase;
  readonly kind: string;
}

/** The schema fields every step has: spread them into a kind's `z.strictObject`. */
export const stepBase = {
  id: dnsLabel,
  phase: z.enum(PHASES),
};

/** A rule broken, at a path in the plan (or, from a kind's `rules`, in the step). */
export interface RuleIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** One step kind as the plan format sees it. */
export interface StepFormat<S extends StepFields = StepFields> {
  /** The kind's name, as written in a plan's `kind:` field. */
  readonly kind: S["kind"];
  /** The step's fields: a strict object with `...stepBase` and `kind: z.literal(kind)`. */
  readonly schema: z.ZodType<S>;
  /** The phases the kind may run in; absent: any phase. */
  readonly phases?: readonly Phase[];
  /** Fields that may change mid-rotation without changing what the step does (not digested). */
  readonly tuning?: readonly string[];
  /** The field whose value is a trust set (`bundle` or `new`): `new` is refused in trust. */
  readonly trustSetField?: string;
  /**
   * Kinds that must come earlier in the plan for each CA the step acts on ({@link stepCas}), e.g.
   * distribute before activate: every step of the kind needs them, unless `needsEarlierFor` says
   * which of them a given step needs (read both with {@link stepNeedsEarlier}).
   */
  readonly needsEarlier?: readonly string[];
  /** Fields whose value is the id of an earlier step of the plan (checked by the plan rules). */
  readonly earlierStepFields?: readonly string[];
  /** True for the kubelet client-rotation gate: finalize steps must come after one. */
  readonly kubeletGate?: boolean;
  /** True for kinds that only check: allowed in finalize before the kubelet gate. */
  readonly checksOnly?: boolean;
  /**
   * Which of `needsEarlier` this step needs, when that depends on its parameters (e.g.
   * roll-kubelets needs an earlier activate-ca only with `clientCA: new`); absent: all of them.
   */
  needsEarlierFor?(step: S): readonly string[];
  /** The CAs the step acts on (covered by its digest); absent: its `ca` field, if any. */
  cas?(step: S, plan: PlanSettings): CaName[];
  /** The step's own cross-field rules; paths are relative to the step. */
  rules?(step: S, plan: PlanSettings): RuleIssue[];
  /** What the step's digest covers, before tuning fields are dropped; absent: the step. */
  digested?(step: S, plan: PlanSettings): object;
}

/** The step type of a kind. */
export type StepOf<K> = K extends StepFormat<infer S> ? S : never;

/** The CAs a step acts on, by its kind's rule (default: its `ca` field). */
export function stepCas(format: StepFormat, step: StepFields, plan: PlanSettings): CaName[] {
  if (format.cas) return format.cas(step, plan);
  const ca = (step as { ca?: CaName }).ca;
  return ca === undefined ? [] : [ca];
}

/**
 * The kinds that must come earlier in the plan for each CA the step acts on: its kind's
 * `needsEarlierFor(step)`, else its `needsEarlier`. A kind's `needsEarlierFor` names only kinds of
 * its `needsEarlier`; one that names another is a bug in the kind, refused here.
 */
export function stepNeedsEarlier<S extends StepFields>(
  format: StepFormat<S>,
  step: S,
): readonly string[] {
  const declared = format.needsEarlier ?? [];
  if (!format.needsEarlierFor) return declared;
  const needed = format.needsEarlierFor(step);
  const stray = needed.filter((kind) => !declared.includes(kind));
  if (stray.length > 0) {
    throw new Error(
      `Cannot check step "${step.id}": ${step.kind}'s needsEarlierFor names ` +
        `${stray.join(", ")}, not among its needsEarlier (${declared.join(", ") || "none"})`,
    );
  }
  return needed;
}
