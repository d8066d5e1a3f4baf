/**
 * A run's progress record: loaded when the run begins (and refused when the plan or the CAs
 * differ from the rotation recorded in the cluster), then saved whenever a step's state changes.
 * A dry run reads it and writes nothing.
 * @module
 */
import type { Progress, StepProgress } from "./progress.ts";
import type { RunnerDeps } from "./runner.ts";
import { planDrift } from "./plan_drift.ts";

/** The progress record of one run. */
export class RunRecord {
  /** When the rotation began: the earliest start recorded for any step, else now. */
  readonly rotationStartedAt: Date;
  readonly #deps: RunnerDeps;
  readonly #now: () => Date;
  readonly #progress: Progress;

  private constructor(deps: RunnerDeps, now: () => Date, progress: Progress) {
    this.#deps = deps;
    this.#now = now;
    this.#progress = progress;
    this.rotationStartedAt = firstStart(progress) ?? now();
  }

  /**
   * Loads the record from the run's store, refusing a plan or CAs other than those recorded;
   * a rotation not begun yet starts an empty record.
   */
  static async open(deps: RunnerDeps, now: () => Date): Promise<RunRecord> {
    return new RunRecord(deps, now, await loadProgress(deps));
  }

  /** The recorded state of a step, if any. */
  step(stepId: string): StepProgress | undefined {
    return this.#progress.steps[stepId];
  }

  /** When a step finished, if the record says it is done. */
  finishedAt(stepId: string): Date | undefined {
    const record = this.#progress.steps[stepId];
    return record?.status === "done" && record.finishedAt ? new Date(record.finishedAt) : undefined;
  }

  /** Records a step's new state and saves the record; in a dry run, nothing. */
  async set(stepId: string, state: StepProgress): Promise<void> {
    if (this.#deps.context.dryRun) return;
    this.#progress.steps[stepId] = state;
    this.#progress.updatedAt = this.#now().toISOString();
    await this.#deps.store.save(this.#progress);
  }
}

async function loadProgress(deps: RunnerDeps): Promise<Progress> {
  const { loaded, store, context } = deps;
  const caFingerprints = context.cas.fingerprints();
  const existing = await store.load();
  if (existing) {
    const problems = planDrift(existing, {
      name: loaded.plan.metadata.name,
      stepDigests: loaded.stepDigests,
      caFingerprints,
    });
    if (problems.length > 0) {
      throw new Error(
        `Cannot run plan "${loaded.path}" against the rotation recorded in the cluster:\n  ` +
          problems.join("\n  "),
      );
    }
  }
  return {
    plan: loaded.plan.metadata.name,
    planDigest: loaded.digest,
    caFingerprints: { ...existing?.caFingerprints, ...caFingerprints },
    stopAfter: loaded.plan.stopAfter,
    steps: existing?.steps ?? {},
  };
}

/** The earliest start recorded for any step: when the rotation began. */
function firstStart(progress: Progress): Date | undefined {
  const starts = Object.values(progress.steps)
    .map((record) => record.startedAt ? Date.parse(record.startedAt) : NaN)
    .filter((time) => !Number.isNaN(time));
  return starts.length ? new Date(Math.min(...starts)) : undefined;
}
