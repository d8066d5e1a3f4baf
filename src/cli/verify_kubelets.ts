/**
 * `verify-kubelets`: reports which CA issued every kubelet's client certificate, optionally
 * waiting for stragglers or forcing their rotation; exit code 3 while any node blocks.
 * @module
 */
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { durationSeconds } from "../plan/duration.ts";
import { gateMessage, renderReportJson, renderReportText } from "../kubelet/mod.ts";
import { verifyKubeletRotation } from "../app/kubelet_verification.ts";

/** The flags of `verify-kubelets`. */
export interface VerifyKubeletsFlags {
  readonly plan?: string;
  readonly caBundle?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly wait?: string;
  readonly forceRotation: boolean;
  readonly output: "text" | "json";
}

/** Runs the verifier and prints its report. */
export async function verifyKubeletsCommand(
  flags: VerifyKubeletsFlags,
  printer: Printer,
): Promise<number> {
  if (!flags.plan && !flags.caBundle) {
    throw new InputError("verify-kubelets: give --plan FILE or --ca-bundle FILE");
  }
  let waitMs = 0;
  if (flags.wait) {
    try {
      waitMs = durationSeconds(flags.wait) * 1000;
    } catch {
      throw new InputError(`--wait: "${flags.wait}" is not a duration such as 90s, 10m or 1h30m`);
    }
  }
  let caBundle: string | undefined;
  if (flags.caBundle) {
    try {
      caBundle = await Deno.readTextFile(flags.caBundle);
    } catch (error) {
      throw new InputError(
        `--ca-bundle: cannot read "${flags.caBundle}": ${(error as Error).message}`,
      );
    }
  }
  const report = await verifyKubeletRotation({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    loaded: flags.plan ? await loadPlan(flags.plan, Deno.env.toObject()) : undefined,
    caBundle,
    waitMs,
    forceRotation: flags.forceRotation,
    printer,
  });
  console.log(flags.output === "json" ? renderReportJson(report) : renderReportText(report));
  const message = gateMessage(report);
  if (message) {
    printer.warn(message);
    return ExitCode.Gate;
  }
  return ExitCode.Ok;
}
