/**
 * The `verify-kubelets` run, wired: the cluster connection, the plan's nodes, the new CA from
 * the rotation's Secret and the old CA from the control-plane nodes, handed to the verifier.
 * @module
 */
import type { Printer } from "../engine/printer.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { contactServer } from "../kube/server_contact.ts";
import type { VerifierReport } from "../kubelet/report.ts";
import { verifyKubelets, type VerifyKubeletsOptions } from "../kubelet/verifier.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { resolvePlanNodes } from "./cluster_nodes.ts";
import { caPaths } from "../plan/node_paths.ts";
import { newCaSecretName, readNewCaCertificate } from "../state/new_ca_secret.ts";
import { InputError } from "../plan/input_error.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { PlanStep } from "../steps/kinds.ts";

/** What a verify-kubelets run is given. */
export interface KubeletVerificationOptions extends KubeConfigOptions {
  /** The plan: its nodes, its layout and its rotation's new CA. */
  readonly loaded?: LoadedPlan<PlanStep>;
  /** The CAs to accept as "old" (PEM); absent: the plan's bundle, else its current CA. */
  readonly caBundle?: string;
  readonly waitMs: number;
  readonly forceRotation: boolean;
  readonly printer: Printer;
}

/** Runs the kubelet client-rotation verifier; an error when there is nothing to compare with. */
export async function verifyKubeletRotation(
  options: KubeletVerificationOptions,
): Promise<VerifierReport> {
  const config = loadKubeConfig(options);
  await contactServer(config, options); // an unreachable server is told at once
  const cluster = new KubeClusterApi(config);
  const inputs: Partial<VerifyKubeletsOptions> = { caBundle: options.caBundle };
  const loaded = options.loaded;
  if (loaded) {
    const plan = loaded.plan;
    const nodes = await resolvePlanNodes(cluster, plan.nodes);
    const controlPlane = nodesOf(nodes.controlPlane, plan.layout);
    const newCa = options.caBundle
      ? undefined
      : await readNewCaCertificate(cluster, plan.metadata.name, "cluster");
    let caBundle = options.caBundle;
    if (!caBundle) {
      // The old CA: the bundle distribute-ca built, else the CA the nodes hold now.
      const paths = caPaths(plan.layout, "cluster");
      caBundle = await controlPlane[0]?.readFile(paths.bundle) ??
        await controlPlane[0]?.readFile(paths.cert);
    }
    if (!newCa && !caBundle) {
      throw new InputError(
        `verify-kubelets: the rotation of "${loaded.path}" has no new CA yet ` +
          `(Secret kube-system/${newCaSecretName(plan.metadata.name)}); give --ca-bundle`,
      );
    }
    Object.assign(inputs, {
      newCa,
      caBundle,
      controlPlane,
      workers: nodesOf(nodes.workers, plan.layout),
      paths: plan.layout,
    });
  }
  return await verifyKubelets({
    ...inputs,
    cluster,
    waitMs: options.waitMs,
    forceRotation: options.forceRotation,
    printer: options.printer,
  });
}
