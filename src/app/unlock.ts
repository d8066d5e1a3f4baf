/**
 * `unlock`: frees the run lock of a plan whose holder the operator knows to be gone (a run on
 * another machine that was killed); a holder on the same host is taken over without it.
 * @module
 */
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { breakRunLock } from "../state/run_lock.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { PlanStep } from "../steps/kinds.ts";

/** Clears the holder of `loaded`'s run lock; returns who held it (`undefined`: nobody). */
export async function unlockRotation(
  loaded: LoadedPlan<PlanStep>,
  options: KubeConfigOptions,
): Promise<string | undefined> {
  const cluster = new KubeClusterApi(loadKubeConfig(options));
  return await breakRunLock(cluster, loaded.plan.metadata.name);
}
