/**
 * The drift of a rotation as `status` shows it: the re-check a run makes at each phase start
 * (src/engine/drift_check.ts), made read-only — through the run frame of a dry run (every node
 * reached, no lock, every write kept in an overlay) with the rotation's new CAs. What a next run
 * would do with each drift (re-apply the step, or hold) is the step kind's policy.
 * @module
 */
import { dirname } from "node:path";
import { checkDrift, type UncheckedStep } from "../engine/drift_check.ts";
import type { DriftFinding } from "../engine/drift.ts";
import type { Progress } from "../engine/progress.ts";
import { memoryPrinter } from "../engine/printer.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { KubeConfigOptions } from "../kube/kubeconfig.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { loadNewCaMaterial } from "../state/new_ca_secret.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { withRunFrame } from "./run_frame.ts";

/** The drift `status` found, or why it could not look. */
export type DriftStatus =
  | {
    readonly checked: true;
    /** The done steps re-checked, in plan order. */
    readonly steps: readonly string[];
    readonly findings: readonly DriftFinding[];
    readonly unchecked: readonly UncheckedStep[];
  }
  | { readonly checked: false; readonly reason: string };

/** Re-checks every done step of the recorded rotation on its nodes and in the cluster; writes nothing. */
export async function driftStatus(
  loaded: LoadedPlan,
  options: KubeConfigOptions,
  progress: Progress | undefined,
): Promise<DriftStatus> {
  const done = (id: string) => progress?.steps[id]?.status === "done";
  if (!loaded.plan.steps.some((step) => done(step.id))) {
    return { checked: true, steps: [], findings: [], unchecked: [] };
  }
  const printer = memoryPrinter();
  try {
    return await withRunFrame(
      { ...options, loaded, dryRun: true, printer },
      { refuse: () => Promise.resolve() },
      async (frame) => {
        const material = await loadNewCaMaterial(frame.live, loaded.plan, dirname(loaded.path), {
          dryRun: true,
          given: frame.given,
          controlPlane: frame.controlPlane,
        });
        const report = await checkDrift({
          steps: loaded.plan.steps,
          done,
          started: (id) => progress?.steps[id] !== undefined,
          registry: new StepRegistry(STEP_KINDS),
          context: frame.context(material.cas),
          rotationStartedAt: rotationStart(progress) ?? new Date(),
        });
        return {
          checked: true,
          steps: report.checked,
          findings: report.findings,
          unchecked: report.unchecked,
        };
      },
    );
  } catch (error) {
    return { checked: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The earliest start the record holds: when the rotation began. */
function rotationStart(progress: Progress | undefined): Date | undefined {
  const starts = Object.values(progress?.steps ?? {})
    .flatMap((record) => record.startedAt ? [Date.parse(record.startedAt)] : [])
    .filter((time) => !Number.isNaN(time));
  return starts.length ? new Date(Math.min(...starts)) : undefined;
}
