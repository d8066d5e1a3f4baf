/**
 * The drift re-check at the start of a phase a run enters (src/engine/drift.ts): the done steps
 * are replayed over overlays (src/engine/drift_check.ts); each drift is named with the steps that
 * made it; then, before anything else of the phase changes, either those steps run again (every
 * kind involved re-applies) or the run holds as at a gate (exit 3), naming step and file. A dry
 * run shows the re-applied steps' changes and says where a run would hold.
 * @module
 */
import { checkDrift, type UncheckedStep } from "./drift_check.ts";
import {
  type DriftFinding,
  driftHoldMessage,
  driftLine,
  driftTargetText,
  stepsToReapply,
} from "./drift.ts";
import { targetName } from "./change.ts";
import type { Phase } from "../plan/phase.ts";
import type { StepFields } from "../plan/step_format.ts";
import { runStep, type StepRun } from "./_run_step.ts";

/** The re-check at one phase start, as the run result and `-o json` give it. */
export interface PhaseDrift {
  /** The phase the run entered. */
  readonly phase: Phase;
  /** The done steps replayed, in plan order. */
  readonly checked: readonly string[];
  /** What is no longer as the done steps made it. */
  readonly findings: readonly DriftFinding[];
  /** Done steps whose replay failed, with the error (reported, not drift). */
  readonly unchecked: readonly UncheckedStep[];
  /** `clean`, `reapplied` (the steps ran again), `held` (the run holds), or in a dry run `planned`. */
  readonly outcome: "clean" | "reapplied" | "held" | "planned";
}

/** The re-check's record, and the gate message when it holds the run. */
export interface PhaseRecheck {
  readonly drift: PhaseDrift;
  readonly gate?: string;
}

/** Re-checks the done steps before `entering`, the first step of its phase in this run. */
export async function recheckPhase(run: StepRun, entering: StepFields): Promise<PhaseRecheck> {
  const { deps, events, record } = run;
  const { printer, loaded } = deps;
  const dryRun = deps.context.dryRun;
  const phase = entering.phase;
  const steps = loaded.plan.steps;
  const report = await checkDrift({
    steps,
    done: (id) => record.step(id)?.status === "done",
    started: (id) => record.step(id) !== undefined,
    registry: deps.registry,
    context: deps.context,
    rotationStartedAt: record.rotationStartedAt,
  });
  const base = { phase, checked: report.checked, findings: report.findings };
  const result = (outcome: PhaseDrift["outcome"]): PhaseDrift => ({
    ...base,
    unchecked: report.unchecked,
    outcome,
  });
  for (const each of report.unchecked) {
    printer.warn(`drift: cannot re-check done step ${each.step}: ${each.error}`);
  }
  if (report.checked.length > 0 && report.findings.length === 0) {
    printer.info(
      `drift: none at the start of phase "${phase}" (${report.checked.length} done steps re-checked)`,
    );
  }
  if (report.findings.length === 0) return { drift: result("clean") };

  const holds = report.findings.some((finding) => finding.action === "hold");
  for (const finding of report.findings) {
    await events.emit({
      type: "DriftFound",
      phase,
      steps: finding.steps,
      targetType: finding.target.type,
      target: targetName(finding.target),
      reasons: finding.reasons,
      action: finding.action,
    });
    const outcome = finding.action === "hold"
      ? "its step is not re-applied: the run holds"
      : holds
      ? "not re-applied: the run holds for another drift"
      : `${dryRun ? "a run re-applies" : "re-applying"} the step`;
    printer.warn(driftLine(finding, outcome));
  }
  if (holds) {
    const message = driftHoldMessage(report.findings);
    if (dryRun) {
      printer.warn(`a run would hold at the start of phase "${phase}": ${message}`);
      return { drift: result("planned") };
    }
    printer.warn(`[${entering.id}] ${message}`);
    await events.emit({ type: "GateReached", step: entering.id, phase, message });
    return { drift: result("held"), gate: message };
  }

  for (const id of stepsToReapply(report.findings, steps.map((step) => step.id))) {
    const step = steps.find((each) => each.id === id)!;
    printer.info(`[${id}] re-applying: what it made has drifted`);
    const { gate } = await runStep(run, step);
    if (gate !== undefined) return { drift: result("reapplied"), gate };
  }
  if (!dryRun) {
    for (const finding of report.findings) {
      printer.info(driftLine(finding, "re-applied"));
    }
    printer.info(
      `drift re-applied at the start of phase "${phase}": ${
        report.findings.map((finding) => driftTargetText(finding.target)).join(", ")
      }`,
    );
  }
  return { drift: result(dryRun ? "planned" : "reapplied") };
}
