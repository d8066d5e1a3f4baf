/**
 * How long each phase left will take: an expected figure and a bound, from the dry run's changes
 * (the cluster's size: restarts per node, workloads rolled), the plan's windows and timeouts, and,
 * where the rotation has done steps of the same kind, their measured duration per change (the
 * progress record). Gates are not in the figures: they wait for the cluster, up to their `wait`,
 * which the bound counts.
 * @module
 */
import type { Change } from "../engine/change.ts";
import type { Progress } from "../engine/progress.ts";
import { parseDuration } from "../plan/duration.ts";
import { type Phase, PHASES } from "../plan/phase.ts";

/**
 * Seconds one unit of work is expected to take where the rotation has not measured its kind yet:
 * a static-pod component restarting until healthy, a kubelet restarting until Ready, one
 * workload's rollout, and any other change (a file or object written).
 */
export const ASSUMED_SECONDS = {
  componentRestart: 30,
  kubeletRestart: 15,
  rollout: 60,
  write: 1,
} as const;

/** A step still ahead: its plan fields (windows and timeouts) and the dry run's changes. */
export interface StepAhead {
  readonly id: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly changes: readonly Change[];
  readonly batchSize?: number;
  /** `adaptive`: `batchSize` is the window's maximum; it may shrink to 1 (the bound assumes 1). */
  readonly window?: "fixed" | "adaptive";
  readonly timeoutSeconds?: number;
  readonly healthTimeoutSeconds?: number;
  /** A gate's wait, e.g. `30m`. */
  readonly wait?: string;
  /** The plan's control-plane nodes: their kubelets restart one at a time, whatever the window. */
  readonly controlPlane?: readonly string[];
}

/** One phase's figures. */
export interface PhaseDuration {
  readonly phase: Phase;
  /** Expected seconds, gates passing at once. */
  readonly expectedSeconds: number;
  /** Seconds after which the phase fails or holds at the latest (every timeout and wait spent). */
  readonly atMostSeconds: number;
  /** Steps whose expectation comes from this rotation's measured steps of the same kind. */
  readonly measuredSteps: readonly string[];
}

/** Seconds per change of each step kind, measured from the steps a rotation has done. */
export type MeasuredRates = Readonly<Record<string, number>>;

/** Pure: seconds per change by step kind, from the done steps of `progress` that changed anything. */
export function measuredRates(
  progress: Progress | undefined,
  kindOf: (stepId: string) => string | undefined,
): MeasuredRates {
  const totals = new Map<string, { seconds: number; changes: number }>();
  for (const [id, step] of Object.entries(progress?.steps ?? {})) {
    const kind = kindOf(id);
    if (!kind || step.status !== "done" || !step.changes || !step.startedAt || !step.finishedAt) {
      continue;
    }
    const seconds = (Date.parse(step.finishedAt) - Date.parse(step.startedAt)) / 1000;
    if (!(seconds >= 0)) continue;
    const total = totals.get(kind) ?? { seconds: 0, changes: 0 };
    totals.set(kind, { seconds: total.seconds + seconds, changes: total.changes + step.changes });
  }
  return Object.fromEntries(
    [...totals].map(([kind, total]) => [kind, total.seconds / total.changes]),
  );
}

/**
 * Units of work in a step's changes: restarts split by kubelet (of a control-plane node or a
 * worker) or component, rolls, writes.
 */
function units(changes: readonly Change[], controlPlane: readonly string[]) {
  let controlPlaneKubelets = 0, kubelets = 0, components = 0, rolls = 0, writes = 0;
  for (const change of changes) {
    if (change.action === "restart" && change.target.type === "component") {
      if (change.target.component !== "kubelet") components++;
      else if (controlPlane.includes(change.target.node)) controlPlaneKubelets++;
      else kubelets++;
    } else if (change.action === "roll") rolls++;
    else writes++;
  }
  return { controlPlaneKubelets, kubelets, components, rolls, writes };
}

/** Pure: one step's expected and longest seconds, and whether the expectation was measured. */
export function stepDuration(
  step: StepAhead,
  rates: MeasuredRates = {},
): { expected: number; atMost: number; measured: boolean } {
  const { controlPlaneKubelets, kubelets, components, rolls, writes } = units(
    step.changes,
    step.controlPlane ?? [],
  );
  const batch = Math.max(1, step.batchSize ?? 1);
  // Expected: the window at its size (adaptive: its maximum); the bound: an adaptive window
  // shrunk to 1 by slow ones. Control-plane kubelets go one at a time either way.
  const smallest = step.window === "adaptive" ? 1 : batch;
  const kubeletWindows = controlPlaneKubelets + Math.ceil(kubelets / batch);
  const rollWindows = Math.ceil(rolls / batch);
  const modelled = components * ASSUMED_SECONDS.componentRestart +
    kubeletWindows * ASSUMED_SECONDS.kubeletRestart +
    rollWindows * ASSUMED_SECONDS.rollout +
    writes * ASSUMED_SECONDS.write;
  const health = step.healthTimeoutSeconds ?? 0;
  const atMost = writes * ASSUMED_SECONDS.write +
    (components + controlPlaneKubelets + Math.ceil(kubelets / smallest)) * health +
    Math.ceil(rolls / smallest) * (step.timeoutSeconds ?? 0) +
    (rolls === 0 && step.changes.length === 0 ? step.timeoutSeconds ?? 0 : 0) +
    (step.wait ? parseDuration(step.wait) / 1000 : 0);
  const rate = rates[step.kind];
  const measured = rate !== undefined && step.changes.length > 0;
  const expected = measured ? rate * step.changes.length : modelled;
  return { expected, atMost: Math.max(atMost, expected), measured };
}

/** Pure: the figures of every phase with a step ahead, in phase order. */
export function phaseDurations(
  steps: readonly StepAhead[],
  rates: MeasuredRates = {},
): PhaseDuration[] {
  return PHASES.flatMap((phase) => {
    const inPhase = steps.filter((step) => step.phase === phase);
    if (inPhase.length === 0) return [];
    let expected = 0, atMost = 0;
    const measuredSteps: string[] = [];
    for (const step of inPhase) {
      const figures = stepDuration(step, rates);
      expected += figures.expected;
      atMost += figures.atMost;
      if (figures.measured) measuredSteps.push(step.id);
    }
    return [{
      phase,
      expectedSeconds: Math.round(expected),
      atMostSeconds: Math.round(atMost),
      measuredSteps,
    }];
  });
}

/** Seconds as a person reads a duration: `45s`, `3m`, `1h 20m`. */
export function readableSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)}h${rest ? ` ${rest}m` : ""}`;
}

/** One line per phase, indented: `trust: about 6m, at most 1h 10m (…)`. */
export function renderPhaseDurations(
  durations: readonly PhaseDuration[],
  indent = "  ",
): string[] {
  return durations.map((each) =>
    `${indent}${each.phase}: about ${readableSeconds(each.expectedSeconds)}, at most ${
      readableSeconds(each.atMostSeconds)
    } (${
      each.measuredSteps.length
        ? `${each.measuredSteps.length} of its steps from this rotation's measured steps`
        : "assumed per-change times: no step of its kinds has run yet"
    })`
  );
}
