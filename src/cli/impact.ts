/**
 * What the rest of a plan will do to the cluster, from a dry run's changes: how often each
 * component restarts on how many nodes, how often the workloads are rolled and which have one
 * replica (unavailable while rolled), and the gates a run stops at (exit 3) until they open. The
 * dry run prints it after its summary line, `-o json` gives it as `impact`, the Markdown summary
 * shows it.
 * @module
 */
import type { Change } from "../engine/change.ts";
import { type Phase, PHASES } from "../plan/phase.ts";
import {
  type MeasuredRates,
  type PhaseDuration,
  phaseDurations,
  renderPhaseDurations,
} from "./phase_durations.ts";

/** The step kinds that hold a run (exit 3) until what they wait for holds. */
export const GATE_KINDS: Readonly<Record<string, string>> = {
  "verify-pod-trust": "until no running pod trusts the old CA only",
  "verify-kubelet-rotation": "until every kubelet has a client certificate of the new CA",
  "kubelet-serving-gate": "until no kubelet serves with a certificate of the old CA",
};

/** One component's restarts. */
export interface ComponentImpact {
  readonly component: string;
  /** Nodes it restarts on. */
  readonly nodes: number;
  /** Restarts on the node that restarts it most. */
  readonly times: number;
  readonly phases: readonly Phase[];
}

/** The impact of the rest of the plan. */
export interface Impact {
  readonly restarts: readonly ComponentImpact[];
  readonly workloads: {
    /** Distinct workloads rolled. */
    readonly rolled: number;
    /** Rolls of the workload rolled most. */
    readonly times: number;
    readonly phases: readonly Phase[];
    /** `Kind/namespace/name` of those with one replica: unavailable while rolled. */
    readonly singleReplica: readonly string[];
  };
  readonly gates: readonly {
    readonly step: string;
    readonly phase: Phase;
    readonly until: string;
  }[];
  /** Each phase's expected and longest duration (src/cli/phase_durations.ts). */
  readonly durations: readonly PhaseDuration[];
}

/** A step of the dry run: its id, phase and changes. */
export interface StepChanges {
  readonly stepId?: string;
  readonly phase?: Phase;
  readonly changes: readonly Change[];
}

/** A plan step still ahead, with the windows and timeouts it may have. */
export interface PlanStepAhead {
  readonly id: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly batchSize?: number;
  readonly window?: "fixed" | "adaptive";
  readonly timeoutSeconds?: number;
  readonly healthTimeoutSeconds?: number;
  readonly wait?: string;
}

/** What the durations need beyond the steps: the plan's workload window, measured rates. */
export interface DurationInputs {
  /** The plan's `workloads` defaults, for `roll-workloads` steps that set no window. */
  readonly workloads?: {
    readonly batchSize: number;
    readonly window?: "fixed" | "adaptive";
    readonly timeoutSeconds: number;
  };
  /** The plan's control-plane nodes (their kubelets restart one at a time). */
  readonly controlPlane?: readonly string[];
  readonly rates?: MeasuredRates;
}

const byPhase = (phases: Set<Phase>) => PHASES.filter((phase) => phases.has(phase));

/** Pure: the impact of `steps`' changes and of the plan's steps still ahead (`ahead`). */
export function impactOf(
  steps: readonly StepChanges[],
  ahead: readonly PlanStepAhead[],
  inputs: DurationInputs = {},
): Impact {
  const restarts = new Map<string, { perNode: Map<string, number>; phases: Set<Phase> }>();
  const rolls = new Map<string, { count: number; replicas?: number }>();
  const rollPhases = new Set<Phase>();
  for (const step of steps) {
    for (const change of step.changes) {
      const target = change.target;
      if (change.action === "restart" && target.type === "component") {
        const entry = restarts.get(target.component) ??
          { perNode: new Map<string, number>(), phases: new Set<Phase>() };
        entry.perNode.set(target.node, (entry.perNode.get(target.node) ?? 0) + 1);
        if (step.phase) entry.phases.add(step.phase);
        restarts.set(target.component, entry);
      } else if (change.action === "roll" && target.type === "workload") {
        const name = `${target.kind}/${target.namespace}/${target.name}`;
        const entry = rolls.get(name) ?? { count: 0, replicas: target.replicas };
        entry.count++;
        rolls.set(name, entry);
        if (step.phase) rollPhases.add(step.phase);
      }
    }
  }
  return {
    restarts: [...restarts].map(([component, entry]) => ({
      component,
      nodes: entry.perNode.size,
      times: Math.max(...entry.perNode.values()),
      phases: byPhase(entry.phases),
    })),
    workloads: {
      rolled: rolls.size,
      times: Math.max(0, ...[...rolls.values()].map((entry) => entry.count)),
      phases: byPhase(rollPhases),
      singleReplica: [...rolls].filter(([, entry]) => entry.replicas === 1).map(([name]) => name),
    },
    gates: ahead.filter((step) => step.kind in GATE_KINDS).map((step) => ({
      step: step.id,
      phase: step.phase,
      until: GATE_KINDS[step.kind],
    })),
    durations: phaseDurations(
      ahead.map((step) => {
        const rolls = step.kind === "roll-workloads" ? inputs.workloads : undefined;
        return {
          ...step,
          batchSize: step.batchSize ?? rolls?.batchSize,
          window: step.window ?? rolls?.window,
          timeoutSeconds: step.timeoutSeconds ?? rolls?.timeoutSeconds,
          controlPlane: inputs.controlPlane,
          changes: steps.filter((each) => each.stepId === step.id).flatMap((each) => each.changes),
        };
      }),
      inputs.rates,
    ),
  };
}

const times = (n: number) => n === 1 ? "once" : n === 2 ? "twice" : `${n} times`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The impact as lines of text, headed; none when the rest of the plan does nothing. */
export function renderImpact(impact: Impact, limit = 10): string[] {
  const lines: string[] = [];
  for (const each of impact.restarts) {
    lines.push(
      `  ${each.component} restarts ${times(each.times)} on ${
        each.nodes === 1 ? "its node" : `each of ${each.nodes} nodes`
      } (${each.phases.join(", ")}), ${
        each.component === "kubelet"
          ? "control-plane nodes one at a time, then the workers in the step's window"
          : "one node at a time"
      }`,
    );
  }
  const workloads = impact.workloads;
  if (workloads.rolled > 0) {
    lines.push(
      `  ${plural(workloads.rolled, "workload")} rolled, ${times(workloads.times)} at most (${
        workloads.phases.join(", ")
      })`,
    );
    if (workloads.singleReplica.length > 0) {
      const shown = workloads.singleReplica.slice(0, limit).join(", ");
      const more = workloads.singleReplica.length - limit;
      lines.push(
        `  ${
          plural(workloads.singleReplica.length, "workload")
        } with one replica, unavailable while each roll replaces its pod: ${shown}${
          more > 0 ? `, … and ${more} more` : ""
        }`,
      );
    }
  }
  for (const gate of impact.gates) {
    lines.push(`  gate ${gate.step} (${gate.phase}): a run stops there (exit 3) ${gate.until}`);
  }
  if (lines.length > 0 && impact.durations.length > 0) {
    lines.push(
      "  duration of each phase (expected, gates passing at once; at most, every timeout and gate wait spent):",
      ...renderPhaseDurations(impact.durations, "    "),
    );
  }
  return lines.length ? ["Impact of the rest of the plan:", ...lines] : [];
}
