/**
 * `verify-kubelets`: reports which CA issued every kubelet's client certificate, optionally
 * waiting for stragglers or forcing their rotation; exit code 3 while any node blocks.
 * @module
 */
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { loadPlan } from "../plan/load.ts";
import { durationSeconds } from "../plan/duration.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { newCaSecretName } from "../state/new_ca_secret.ts";
import { gateMessage, renderReportJson, renderReportText, verifyKubelets } from "../kubelet/mod.ts";
import type { VerifyKubeletsOptions } from "../kubelet/verifier.ts";
import type { KubeObject } from "../engine/cluster_api.ts";

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
  const cluster = new KubeClusterApi(loadKubeConfig(flags));
  const options: Partial<VerifyKubeletsOptions> = {};
  if (flags.caBundle) {
    try {
      Object.assign(options, { caBundle: await Deno.readTextFile(flags.caBundle) });
    } catch (error) {
      throw new InputError(
        `--ca-bundle: cannot read "${flags.caBundle}": ${(error as Error).message}`,
      );
    }
  }
  if (flags.plan) {
    const { plan } = await loadPlan(flags.plan, Deno.env.toObject());
    const secret = await cluster.read<KubeObject & { data?: Record<string, string> }>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "kube-system",
      name: newCaSecretName(plan.metadata.name),
    });
    const newCa = secret?.data?.["cluster.crt"];
    if (newCa && !flags.caBundle) Object.assign(options, { newCa: atob(newCa) });
    const controlPlane = nodesOf(plan.nodes.controlPlane, plan.layout);
    if (!flags.caBundle) {
      // The old CA: the bundle distribute-ca built, else the CA the nodes hold now.
      const pki = plan.layout.pkiDir;
      const held = await controlPlane[0]?.readFile(`${pki}/ca-bundle.crt`) ??
        await controlPlane[0]?.readFile(`${pki}/ca.crt`);
      if (held) Object.assign(options, { caBundle: held });
    }
    Object.assign(options, {
      controlPlane,
      workers: nodesOf(plan.nodes.workers, plan.layout),
      paths: plan.layout,
    });
    if (!options.newCa && !options.caBundle) {
      throw new InputError(
        `verify-kubelets: the rotation of "${flags.plan}" has no new CA yet ` +
          `(Secret kube-system/${newCaSecretName(plan.metadata.name)}); give --ca-bundle`,
      );
    }
  }
  const report = await verifyKubelets({
    ...options,
    cluster,
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
