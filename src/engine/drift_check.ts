/**
 * The drift re-check (src/engine/drift.ts): every done step whose kind re-checks drift is
 * replayed, in plan order, as a dry run over overlays of the nodes and the cluster as they are
 * now — observe, diff, and the apply laid over the overlay, so a later step sees what an earlier
 * one would write — and the replay's net change is the drift. Steps a run stopped in are replayed
 * too, as pending: what they would still write is theirs to finish, not drift; a step that a
 * later done or pending step ends (its kind's `endedBy`) is not replayed. It writes nothing;
 * a done step whose replay fails is reported as not re-checked (its error wrapped with its id),
 * not as drift.
 * @module
 */
import { hasChanges } from "./change.ts";
import {
  driftAction,
  type DriftFinding,
  driftOf,
  endedByLater,
  type ReplayedStep,
} from "./drift.ts";
import { OverlayClusterApi } from "./overlay_cluster.ts";
import { OverlayNode } from "./overlay_node.ts";
import { memoryPrinter } from "./printer.ts";
import type { StepRegistry } from "./registry.ts";
import type { SharedContext } from "./runner.ts";
import type { StepContext } from "./step.ts";
import { StepError, type StepStage } from "./step_error.ts";
import type { StepFields } from "../plan/step_format.ts";

/** What the re-check needs. */
export interface DriftCheckDeps {
  /** The plan's steps, in order. */
  readonly steps: readonly StepFields[];
  /** True for the steps the progress record says are done. */
  readonly done: (stepId: string) => boolean;
  /**
   * True for the steps that began and are not done (a run stopped in them): replayed after the
   * done steps as pending work, which supersedes their state where it would still write.
   */
  readonly started?: (stepId: string) => boolean;
  readonly registry: StepRegistry;
  /** The run's context: its nodes and cluster are read, never written through. */
  readonly context: SharedContext;
  /** When the rotation's first step started. */
  readonly rotationStartedAt: Date;
}

/** A done step the re-check could not replay, and why. */
export interface UncheckedStep {
  readonly step: string;
  readonly error: string;
}

/** What the re-check found. */
export interface DriftReport {
  /** The done steps it replayed, in plan order. */
  readonly checked: readonly string[];
  readonly findings: readonly DriftFinding[];
  readonly unchecked: readonly UncheckedStep[];
}

/** Replays the done steps over overlays and returns the drift (see the module's comment). */
export async function checkDrift(deps: DriftCheckDeps): Promise<DriftReport> {
  const { context } = deps;
  const overlay: SharedContext = {
    ...context,
    dryRun: true,
    controlPlane: context.controlPlane.map((node) => new OverlayNode(node)),
    workers: context.workers.map((node) => new OverlayNode(node)),
    // Writes are kept in memory only: nothing is sent, not even as a server-side dry run.
    cluster: new OverlayClusterApi(context.cluster),
  };
  const replayed: ReplayedStep[] = [];
  const unchecked: UncheckedStep[] = [];
  for (const step of deps.steps) {
    const pending = !deps.done(step.id) && (deps.started?.(step.id) ?? false);
    if (!deps.done(step.id) && !pending) continue;
    const kind = deps.registry.get(step.kind);
    const action = driftAction(kind.drift);
    if (action === undefined) continue;
    // A later step that is done, or that a run stopped in (it may have deleted them already),
    // ends what its `endedBy` kinds made: replaying those would make them again.
    const later = deps.steps.slice(deps.steps.indexOf(step) + 1)
      .filter((each) => deps.done(each.id) || (deps.started?.(each.id) ?? false))
      .map((each) => each.kind);
    if (!pending && endedByLater(kind.drift, later)) continue;
    const ctx: StepContext = {
      ...overlay,
      stepId: step.id,
      rotationStartedAt: deps.rotationStartedAt,
      log: memoryPrinter(),
      waitFor: () => Promise.resolve(),
      progress: () => {},
    };
    let stage: StepStage = "observe";
    try {
      const observed = await kind.observe(ctx, step);
      stage = "diff";
      const changes = kind.diff(observed, step);
      if (hasChanges(changes)) {
        stage = "apply";
        await kind.apply(ctx, step, changes);
      }
      replayed.push({ stepId: step.id, action, changes, ...(pending ? { pending } : {}) });
    } catch (error) {
      // A pending step's own run will say what is wrong with it.
      if (pending) continue;
      unchecked.push({ step: step.id, error: new StepError(step.id, stage, error).message });
    }
  }
  return {
    checked: replayed.filter((step) => !step.pending).map((step) => step.stepId),
    findings: driftOf(replayed),
    unchecked,
  };
}
