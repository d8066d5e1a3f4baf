/**
 * `verify-kubelet-rotation`: the gate before old-CA removal. Every kubelet must authenticate
 * with a client certificate issued by the new CA; removing the old CA earlier cuts the others
 * off the API. Waits (with progress) for stragglers up to `wait`, forces their rotation when the
 * plan says so, and otherwise holds the run (exit code 3) naming the blocking nodes.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { GateClosedError } from "../engine/step_error.ts";
import { gateMessage, observeKubelets, verifyKubelets } from "../kubelet/mod.ts";
import type { VerifyKubeletsOptions } from "../kubelet/verifier.ts";
import { trustPem } from "./trust_sets.ts";
import { stepBase } from "../plan/step_format.ts";
import { parseDuration } from "../plan/duration.ts";
import { durationText } from "../plan/fields.ts";

/**
 * `verify-kubelet-rotation` parameters: the gate before old-CA removal — every kubelet must
 * authenticate with a client certificate issued by the new CA.
 */
export const VerifyKubeletRotationStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify-kubelet-rotation"),
  /** Tuning: how long to wait for stragglers, e.g. `10m` or `1.5h` (absent: check once). */
  wait: durationText.optional(),
  /** Tuning: make blocking nodes obtain a new-CA certificate through node access. */
  forceRotation: z.boolean().default(false),
});

type Step = z.infer<typeof VerifyKubeletRotationStep>;

async function verifierOptions(ctx: StepContext): Promise<VerifyKubeletsOptions> {
  const layout = ctx.layout;
  return {
    cluster: ctx.cluster,
    controlPlane: ctx.controlPlane,
    workers: ctx.workers,
    newCa: ctx.cas.get("cluster").certPem,
    caBundle: await trustPem(ctx, "cluster", "bundle"),
    paths: {
      kubeletConfig: layout.kubeletConfig,
      kubeletKubeconfig: layout.kubeletKubeconfig,
      kubeletPkiDir: layout.kubeletPkiDir,
      kubeletRestart: layout.kubeletRestart,
      manifestsDir: layout.manifestsDir,
    },
    printer: ctx.log,
  };
}

/** The verify-kubelet-rotation step kind. */
export const verifyKubeletRotation = defineStepKind<Step, void>({
  kind: "verify-kubelet-rotation",
  schema: VerifyKubeletRotationStep,
  undo: {
    nothing:
      "a gate: it reads, and forces kubelet rotations only in finalize, which a rollback never undoes",
  },
  drift: {
    none:
      "a gate: its forced rotations are the kubelets' own, and the kubelets rotate on their own later",
  },
  phases: ["switch", "finalize"],
  tuning: ["wait", "forceRotation"],
  kubeletGate: true,
  cas: () => ["cluster"],

  async observe(ctx) {
    if (!ctx.dryRun) return;
    const report = await observeKubelets(await verifierOptions(ctx));
    const message = gateMessage(report);
    ctx.log.info(
      message ? `the gate would hold now: ${message}` : "every kubelet is on the new CA",
    );
  },

  diff: () => [],

  async apply() {},

  async verify(ctx, step) {
    const report = await verifyKubelets({
      ...await verifierOptions(ctx),
      waitMs: step.wait ? parseDuration(step.wait) : 0,
      forceRotation: step.forceRotation,
      onProgress: (ready, total, waitUntil) =>
        ctx.progress("every kubelet to authenticate with the new CA", ready, total, waitUntil),
    });
    const message = gateMessage(report);
    if (message) throw new GateClosedError(ctx.stepId, message);
    ctx.log.info(`every kubelet authenticates with a certificate of the new CA`);
  },
});
