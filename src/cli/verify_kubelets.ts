/**
 * `verify-kubelets`: reports which CA issued every kubelet's client certificate, optionally
 * waiting for stragglers or forcing their rotation; exit code 3 while any node blocks.
 * @module
 */
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { gateMessage, renderReportText, reportDocument } from "../kubelet/mod.ts";
import { verifyKubeletRotation } from "../app/kubelet_verification.ts";
import { outputDocument, printDocument } from "./output_document.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `verify-kubelets`. */
export interface VerifyKubeletsFlags {
  readonly plan?: string;
  readonly caBundle?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** How long to wait for stragglers, in milliseconds (absent: check once). */
  readonly wait?: number;
  readonly forceRotation: boolean;
  readonly output: OutputFormat;
}

/** Runs the verifier and prints its report. */
export async function verifyKubeletsCommand(
  flags: VerifyKubeletsFlags,
  printer: Printer,
): Promise<number> {
  if (!flags.plan && !flags.caBundle) {
    throw new InputError("verify-kubelets: give --plan FILE or --ca-bundle FILE");
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
    waitMs: flags.wait ?? 0,
    forceRotation: flags.forceRotation,
    printer,
  });
  const message = gateMessage(report);
  const exitCode = message ? ExitCode.Gate : ExitCode.Ok;
  const format = documentFormat(flags.output);
  if (format) {
    await printDocument(outputDocument("KubeletReport", exitCode, reportDocument(report)), format);
  } else {
    console.log(renderReportText(report));
  }
  if (message) printer.warn(message);
  return exitCode;
}
