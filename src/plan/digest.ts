/**
 * Plan digests: SHA-256 over a canonical JSON of the plan without `stopAfter` and without
 * tuning (batch sizes, timeouts, waits, rollout order) or operational fields (how the kubelet is
 * restarted, where backups go), so moving `stopAfter` or tuning is allowed mid-rotation, while a
 * change to what a step does — a different new CA, another flag value — is not. Each step has
 * its own digest, covering the step and what it depends on (layout paths, the CAs it acts on,
 * the effective workload selection), so the engine can refuse a change to an applied step.
 * @module
 */
import { createHash } from "node:crypto";
import type { Plan, PlanSettings } from "./schema.ts";
import { stepCas, type StepFields, type StepFormat } from "./step_format.ts";

/**
 * Plan fields left out of the plan digest: `stopAfter`, and `staticPods` (a static pod found
 * mid-rotation is listed then, to restart or accept it, without starting over).
 */
export const PLAN_UNDIGESTED_FIELDS = ["stopAfter", "staticPods"] as const;

/** Layout fields that say how, not what: left out of every digest. */
export const LAYOUT_UNDIGESTED_FIELDS = ["preset", "kubeletRestart", "backupDir"] as const;

/** `workloads` fields that are tuning: left out of every digest. */
export const WORKLOADS_TUNING_FIELDS = [
  "batchSize",
  "window",
  "windowStart",
  "timeoutSeconds",
  "order",
] as const;

/** JSON with object keys sorted and `undefined` dropped: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    return Object.fromEntries(
      Object.keys(item).sort().filter((key) => item[key] !== undefined).map((key) => [
        key,
        item[key],
      ]),
    );
  });
}

/** `sha256:<hex>` of a value's canonical JSON. */
export function sha256Digest(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex")}`;
}

/** The digest of a whole plan (without `stopAfter`, tuning and operational fields). */
export function planDigest<S extends StepFields>(
  plan: Plan<S>,
  kinds: readonly StepFormat<S>[],
): string {
  const rest: Record<string, unknown> = { ...plan };
  for (const field of PLAN_UNDIGESTED_FIELDS) delete rest[field];
  return sha256Digest({
    ...rest,
    // Which Nodes are left alone may change mid-rotation (a Node that joined, excluded).
    nodes: omit(plan.nodes, ["exclude"]),
    layout: omit(plan.layout, LAYOUT_UNDIGESTED_FIELDS),
    workloads: omit(plan.workloads, WORKLOADS_TUNING_FIELDS),
    steps: plan.steps.map((step) => omit(step, formatOf(kinds, step).tuning ?? [])),
  });
}

/**
 * The digest of one step: the step as its kind digests it (a kind may fill in the plan's
 * defaults), the layout and the definitions of the CAs it acts on.
 */
export function stepDigest<S extends StepFields>(
  plan: PlanSettings,
  step: S,
  kinds: readonly StepFormat<S>[],
): string {
  const format = formatOf(kinds, step);
  const digested = format.digested?.(step, plan) ?? step;
  return sha256Digest({
    step: omit(digested, format.tuning ?? []),
    layout: omit(plan.layout, LAYOUT_UNDIGESTED_FIELDS),
    cas: Object.fromEntries(stepCas(format, step, plan).map((ca) => [ca, plan.cas[ca]])),
  });
}

/** Every step's digest, by step id. */
export function stepDigests<S extends StepFields>(
  plan: Plan<S>,
  kinds: readonly StepFormat<S>[],
): Record<string, string> {
  return Object.fromEntries(plan.steps.map((step) => [step.id, stepDigest(plan, step, kinds)]));
}

function formatOf<S extends StepFields>(kinds: readonly StepFormat<S>[], step: S): StepFormat<S> {
  const format = kinds.find((kind) => kind.kind === step.kind);
  if (!format) throw new Error(`Cannot digest step "${step.id}": unknown step kind "${step.kind}"`);
  return format;
}

function omit<T extends object>(value: T, fields: readonly string[]): Partial<T> {
  const copy = { ...value } as Record<string, unknown>;
  for (const field of fields) delete copy[field];
  return copy as Partial<T>;
}
