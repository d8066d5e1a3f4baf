/**
 * One `rollback` run, in the run frame as `rotate` is (src/app/run_frame.ts): the rollback
 * procedure derived from the kinds of the plan's steps and the progress record
 * (src/rollback/procedure.ts) — refused as bad input before the lock — between the steps that
 * record it began and that close it (src/rollback/rollback_record.ts: the new-CA Secret dropped,
 * the record marked rolled back), all run by the runner, with the same output, events, safe points
 * and, in a dry run, the same overlays; the next `rotate` starts from scratch with a new CA.
 * @module
 */
import { runPlan } from "../engine/runner.ts";
import { StepRegistry } from "../engine/registry.ts";
import { memoryProgressStore } from "../engine/progress.ts";
import { newCaSecretName, readNewCaCertificates } from "../state/new_ca_secret.ts";
import { rollbackProcedure } from "../rollback/procedure.ts";
import { beginRollback, finishRollback, rollbackRecordSteps } from "../rollback/rollback_record.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import type { RotationOptions, RotationResult } from "./rotation.ts";
import { withRunFrame } from "./run_frame.ts";

/** Rolls the rotation back (or, dry, shows what that would change). */
export function rollBack(options: RotationOptions): Promise<RotationResult> {
  const { loaded, dryRun, printer } = options;
  const plan = loaded.plan;
  const name = plan.metadata.name;
  // Not every Node need be covered: a rollback returns to what uncovered Nodes still trust.
  return withRunFrame(options, {
    async refuse(_live, store) {
      const progress = await store.load();
      const until = progress?.rollback?.startedAt
        ? new Date(progress.rollback.startedAt)
        : new Date();
      // Nothing to roll back, or the finalize phase begun: refused before the lock (exit 2).
      const procedure = rollbackProcedure(plan, progress, until, options.kinds ?? STEP_KINDS);
      return { progress: progress!, until, procedure };
    },
  }, async (frame, { progress, until, procedure }) => {
    // Certificates only: undoing signs nothing, and the keys may have left the Secret.
    const cas = await readNewCaCertificates(frame.live, plan, frame.given);
    for (const [ca, recorded] of Object.entries(progress.caFingerprints)) {
      if (cas.fingerprints()[ca] !== recorded) {
        throw new Error(
          `Cannot roll back: the new ${ca} CA of this rotation (sha256 ${
            recorded.slice(0, 16)
          }…) is not in Secret kube-system/${newCaSecretName(name)} any more`,
        );
      }
    }
    if (plan.cas.cluster) frame.source.trust(cas.get("cluster").certPem);
    for (const warning of procedure.warnings) printer.warn(warning);
    printer.info(
      `${dryRun ? "planning the rollback of" : "rolling back"} "${loaded.path}" (${name}): ` +
        `undoing ${procedure.undoes.join(", ")}`,
    );
    const record = rollbackRecordSteps(name, until, procedure.undoes);
    const steps = [record.begin, ...procedure.steps, record.finish];
    const result = await runPlan({
      loaded: {
        path: loaded.path,
        plan: { ...plan, stopAfter: "finalize", steps },
        digest: loaded.digest,
        stepDigests: Object.fromEntries(steps.map((step) => [step.id, "rollback"])),
      },
      registry: new StepRegistry([beginRollback, ...procedure.kinds, finishRollback]),
      // Not recorded step by step: a rollback run again recomputes every step from the backups.
      store: memoryProgressStore(),
      printer,
      signal: frame.signal,
      events: frame.events,
      context: frame.context(cas),
    });
    if (!dryRun) {
      printer.info(
        "rolled back: the cluster trusts the old CA only; the next rotate starts from scratch",
      );
    }
    return { ...result, next: undefined, setupChanges: [] };
  });
}
