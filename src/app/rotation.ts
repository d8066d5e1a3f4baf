/**
 * One `rotate` run, in the run frame (src/app/run_frame.ts): the new CAs (generated once, kept in
 * a Secret until every control-plane node holds their keys), the progress record and the runner. In a dry run every write goes to an overlay and
 * the API server checks object writes with server-side dry run.
 * @module
 */
import { dirname } from "node:path";
import { runPlan, type RunResult } from "../engine/runner.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { StepKind } from "../engine/step.ts";
import type { Change } from "../engine/change.ts";
import { loadNewCaMaterial, newCaSecretName, releaseNewCaKeys } from "../state/new_ca_secret.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { type RunOptions, withRunFrame } from "./run_frame.ts";

/** What a rotate run needs to know. */
export interface RotationOptions extends RunOptions {
  /** The step kinds (default: every kind of src/steps/kinds.ts). */
  readonly kinds?: readonly StepKind[];
}

/** The result of a rotate run, with the changes of the new-CA Secret in a dry run. */
export interface RotationResult extends RunResult {
  readonly setupChanges: readonly Change[];
}

/** Runs (or, dry, plans) the rotation. */
export function rotate(options: RotationOptions): Promise<RotationResult> {
  const { loaded, dryRun, printer } = options;
  const registry = new StepRegistry(options.kinds ?? STEP_KINDS);
  const plan = loaded.plan;
  const checks = { refuse: () => Promise.resolve(), everyNodeCovered: true };
  return withRunFrame(options, checks, async (frame) => {
    const material = await loadNewCaMaterial(frame.live, plan, dirname(loaded.path), {
      dryRun,
      given: frame.given,
      controlPlane: frame.controlPlane,
    });
    const releaseKeys = async () => {
      if (dryRun) return;
      for (const ca of await releaseNewCaKeys(frame.live, plan, frame.controlPlane)) {
        printer.info(
          `the new ${ca} CA's key left Secret kube-system/${
            newCaSecretName(plan.metadata.name)
          }: ` +
            "every control-plane node holds it, and a resumed run reads it there",
        );
      }
    };
    await releaseKeys();
    if (plan.cas.cluster) frame.source.trust(material.cas.get("cluster").certPem);
    printer.info(
      `${dryRun ? "planning" : "running"} "${loaded.path}" (${plan.metadata.name}) up to phase ` +
        `"${plan.stopAfter}"${dryRun ? " and showing every later phase" : ""}`,
    );
    const result = await runPlan({
      loaded,
      registry,
      store: frame.store,
      printer,
      signal: frame.signal,
      phaseGate: frame.phaseGate,
      events: frame.events,
      context: frame.context(material.cas),
    });
    await releaseKeys();
    return { ...result, setupChanges: material.changes };
  });
}
