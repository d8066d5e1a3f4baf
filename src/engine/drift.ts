/**
 * Drift of the nodes and the cluster from what the rotation's done steps made (not to be confused
 * with src/engine/plan_drift.ts, the plan changing under a rotation). Something outside the
 * rotation can undo a done step between phases: `kubeadm certs renew` rewrites every kubeconfig's
 * `certificate-authority-data` from `ca.crt`, `kubeadm upgrade` rewrites manifest flags and the
 * kubelet's `clientCAFile`. Each step kind declares how a done step of it is re-checked
 * ({@link DriftPolicy}); the re-check replays the done steps, in plan order, as a dry run over
 * the nodes and the cluster as they are now (src/engine/drift_check.ts), and what that replay
 * would change is the drift ({@link driftOf}). A later done step that rewrites the same file
 * (`kubeconfigs-trust-new` after `kubeconfigs-trust-bundle`) supersedes the earlier one, since
 * only the replay's net change counts.
 * @module
 */
import type { StepKind } from "./step.ts";
import { type Change, type ChangeTarget, targetName } from "./change.ts";

/**
 * How a done step of a kind is re-checked at the start of each phase a run enters (and by
 * `status`), with the reason:
 * - `reapply`: re-checked; a drift is converged by running the step again (its apply is safe to
 *   repeat and does the restarts the change needs, as the first time);
 * - `hold`: re-checked; a drift holds the run (exit 3) before anything else changes, naming the
 *   step and the file: an operator decides;
 * - `none`: not re-checked: the step leaves no state of its own to check (it waits, checks, or
 *   its change is an event, such as a restart).
 *
 * `endedBy` names the kinds whose later done step deliberately ends what a step of this kind made
 * (its end state is then not re-checked).
 */
export type DriftPolicy =
  | { readonly reapply: string; readonly endedBy?: readonly string[] }
  | { readonly hold: string; readonly endedBy?: readonly string[] }
  | { readonly none: string };

/**
 * True when a done step of `kind` is no longer re-checked because a later done step ends what it
 * made: one of the kinds its policy's `endedBy` names (`remove-old-ca` deletes what
 * `distribute-ca` staged).
 */
export function endedByLater(policy: DriftPolicy, laterDoneKinds: readonly string[]): boolean {
  const endedBy = "none" in policy ? [] : policy.endedBy ?? [];
  return endedBy.some((kind) => laterDoneKinds.includes(kind));
}

/** What a re-check does with a drift: re-apply the steps that made it, or hold the run. */
export type DriftAction = "reapply" | "hold";

/** The action a policy asks for; undefined for `none` (not re-checked). */
export function driftAction(policy: DriftPolicy): DriftAction | undefined {
  return "reapply" in policy ? "reapply" : "hold" in policy ? "hold" : undefined;
}

/** What is wrong with a kind's drift declaration (every kind must give one, with a reason). */
export function driftDeclarationProblem(kind: StepKind): string | undefined {
  const policy = (kind as { drift?: DriftPolicy }).drift;
  if (policy === undefined) return `${kind.kind}: declares no drift policy (reapply, hold or none)`;
  const reason = "reapply" in policy
    ? policy.reapply
    : "hold" in policy
    ? policy.hold
    : policy.none;
  return typeof reason === "string" && reason.trim().length > 0
    ? undefined
    : `${kind.kind}: its drift policy gives no reason`;
}

/** The changes one done step's replay would make over the state as it is (and as earlier replays left it). */
export interface ReplayedStep {
  readonly stepId: string;
  readonly action: DriftAction;
  readonly changes: readonly Change[];
  /**
   * A step that began and is not done (a run stopped in it): the run finishes it, so what it
   * would still write is its own work left, not drift, and supersedes the done steps' state there.
   */
  readonly pending?: boolean;
}

/** One file or object that is no longer what the done steps made. */
export interface DriftFinding {
  /** The file (on a node) or API object. */
  readonly target: ChangeTarget;
  /** Its short name, `cp-0:/etc/kubernetes/scheduler.conf` or `ConfigMap/kube-public/cluster-info`. */
  readonly name: string;
  /** The done steps whose end state it was, in plan order (usually one). */
  readonly steps: readonly string[];
  /** What those steps want of it (their changes' reasons). */
  readonly reasons: readonly string[];
  /** `hold` when any of its steps' kinds holds on drift, else `reapply`. */
  readonly action: DriftAction;
}

/**
 * Pure: the drift the replay found. A file or object is drifted when the replay's net change to
 * it is not nothing: the text the first replayed change found differs from the text the last one
 * left (a restart or roll is an event, not a state, and is left out), unless a pending step (one
 * the run is in the middle of) would still write it. Findings keep the order of their first
 * change.
 */
export function driftOf(replayed: readonly ReplayedStep[]): DriftFinding[] {
  const byTarget = new Map<
    string,
    { target: ChangeTarget; first: Change; last: Change; steps: string[]; reasons: string[] }
  >();
  const holds = new Set(replayed.filter((step) => step.action === "hold").map((s) => s.stepId));
  // What a step the run is in the middle of would still write is that step's to finish.
  const pending = new Set(
    replayed.filter((step) => step.pending).flatMap((step) =>
      step.changes.map((change) => targetName(change.target))
    ),
  );
  for (const step of replayed.filter((each) => !each.pending)) {
    for (const change of step.changes) {
      if (change.target.type !== "file" && change.target.type !== "object") continue;
      if (change.before === change.after) continue;
      const key = targetName(change.target);
      const seen = byTarget.get(key);
      if (!seen) {
        byTarget.set(key, {
          target: change.target,
          first: change,
          last: change,
          steps: [step.stepId],
          reasons: change.reason ? [change.reason] : [],
        });
        continue;
      }
      seen.last = change;
      if (!seen.steps.includes(step.stepId)) seen.steps.push(step.stepId);
      if (change.reason && !seen.reasons.includes(change.reason)) seen.reasons.push(change.reason);
    }
  }
  return [...byTarget.entries()]
    .filter(([name, seen]) => seen.first.before !== seen.last.after && !pending.has(name))
    .map(([name, seen]) => ({
      target: seen.target,
      name,
      steps: seen.steps,
      reasons: seen.reasons,
      action: seen.steps.some((id) => holds.has(id)) ? "hold" : "reapply",
    }));
}

/** The steps to re-apply for `findings` (none may hold), each once, in plan order. */
export function stepsToReapply(
  findings: readonly DriftFinding[],
  planOrder: readonly string[],
): string[] {
  const ids = new Set(findings.flatMap((finding) => finding.steps));
  return planOrder.filter((id) => ids.has(id));
}

/** `/etc/kubernetes/scheduler.conf on cp-0`, or the object's kind/namespace/name. */
export function driftTargetText(target: ChangeTarget): string {
  return target.type === "file" ? `${target.path} on ${target.node}` : targetName(target);
}

/**
 * One line naming a drift, the step(s) that made it and what happens:
 * `drift: /etc/kubernetes/scheduler.conf on cp-0 is no longer what step kubeconfigs-trust-bundle
 * made (certificate-authority-data → bundle); re-applying the step`.
 */
export function driftLine(finding: DriftFinding, outcome: string): string {
  const steps = finding.steps.length === 1
    ? `step ${finding.steps[0]}`
    : `steps ${finding.steps.join(", ")}`;
  const wants = finding.reasons.length > 0 ? ` (${finding.reasons.join("; ")})` : "";
  return `drift: ${driftTargetText(finding.target)} is no longer what ${steps} made${wants}; ` +
    outcome;
}

/** The gate message of a run held by drift: every held finding, named with its steps. */
export function driftHoldMessage(findings: readonly DriftFinding[]): string {
  const held = findings.filter((finding) => finding.action === "hold");
  return `drift that ca-rotator does not re-apply (nothing else was changed): ${
    held.map((finding) =>
      `${driftTargetText(finding.target)} (made by ${finding.steps.join(", ")})`
    )
      .join("; ")
  }: restore what those steps made (or roll back), then run again`;
}
