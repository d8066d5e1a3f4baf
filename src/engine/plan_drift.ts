/**
 * Decides whether a plan may run against an existing progress record: a change to a step that
 * already ran, or a different new CA mid-rotation, is refused; moving `stopAfter` or tuning is not.
 * @module
 */
import type { Progress } from "./progress.ts";

/** The facts of the plan about to run. */
export interface PlanIdentity {
  readonly name: string;
  readonly stepDigests: Readonly<Record<string, string>>;
  readonly caFingerprints: Readonly<Record<string, string>>;
}

/** Every reason the plan may not run against the record; empty when it may. */
export function planDrift(progress: Progress, plan: PlanIdentity): string[] {
  const problems: string[] = [];
  if (progress.rollback && !progress.rollback.finishedAt) {
    problems.push(
      `a rollback of this rotation began at ${progress.rollback.startedAt} and has not finished: ` +
        "run `rollback` again to finish it before rotating",
    );
  }
  for (const [stepId, record] of Object.entries(progress.steps)) {
    if (record.status !== "done" && record.status !== "running") continue;
    const digest = plan.stepDigests[stepId];
    if (digest === undefined) {
      problems.push(`step "${stepId}" has already run but is no longer in the plan`);
    } else if (digest !== record.digest) {
      problems.push(`step "${stepId}" has already run and its definition has changed since`);
    }
  }
  for (const [ca, fingerprint] of Object.entries(progress.caFingerprints)) {
    const now = plan.caFingerprints[ca];
    if (now !== undefined && now !== fingerprint) {
      problems.push(
        `the new ${ca} CA differs from the one this rotation started with ` +
          `(sha256 ${fingerprint.slice(0, 16)}… recorded, ${now.slice(0, 16)}… now)`,
      );
    }
  }
  return problems;
}
