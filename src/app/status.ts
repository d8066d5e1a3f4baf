/**
 * The rotation's status as the cluster records it: the plan's steps with their progress.
 * @module
 */
import type { Progress, StepStatus } from "../engine/progress.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { contactServer } from "../kube/server_contact.ts";
import type { Phase } from "../plan/phase.ts";
import { ConfigMapProgressStore, progressConfigMapName } from "../state/progress_configmap.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { PlanStep } from "../steps/kinds.ts";
import { type Standing, standing } from "./next_run.ts";
import { type KubeconfigNeeds, kubeconfigNeeds } from "./kubeconfig_needs.ts";
import { type JoinNeeds, joinNeeds, type PlannedJoinStep } from "./join_needs.ts";
import type { ClusterApi } from "../engine/cluster_api.ts";
import { clusterInfoCas } from "../steps/cluster_info_cas.ts";
import { discoveryHash, parseCertificates } from "../pki/mod.ts";
import { readNewCaCertificate } from "../state/new_ca_secret.ts";

/** One step of the plan with what the cluster records of it. */
export interface StepStatusRow {
  readonly id: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly status: StepStatus | "pending";
  readonly attempts: number;
  readonly finishedAt: string;
  /** When its last attempt started (RFC 3339), if it ever ran. */
  readonly startedAt?: string;
  readonly error?: string;
}

/** The recorded progress of a plan's rotation. */
export interface RotationStatus {
  /** The progress ConfigMap, `kube-system/<name>`. */
  readonly configMap: string;
  /** The record; `undefined` while no run has started. */
  readonly progress?: Progress;
  readonly steps: readonly StepStatusRow[];
  /** The phase the rotation is in and what the next run would do. */
  readonly standing: Standing;
  /** What people's and pipelines' kubeconfigs need now (the `kubeconfig` command). */
  readonly kubeconfigs: KubeconfigNeeds;
  /** The discovery hashes a `kubeadm join` needs now, and which phase changes them. */
  readonly joins: JoinNeeds;
}

/** The new cluster CA's discovery hash from the rotation's Secret; undefined where unreadable. */
async function newCaHash(cluster: ClusterApi, planName: string): Promise<string | undefined> {
  const pem = await readNewCaCertificate(cluster, planName, "cluster").catch(() => undefined);
  return pem === undefined ? undefined : await discoveryHash(parseCertificates(pem)[0]);
}

/** Reads the progress of `loaded`'s rotation from the cluster. */
export async function rotationStatus(
  loaded: LoadedPlan<PlanStep>,
  options: KubeConfigOptions,
): Promise<RotationStatus> {
  const config = loadKubeConfig(options);
  await contactServer(config, options); // an unreachable server is told at once
  const cluster = new KubeClusterApi(config);
  const name = loaded.plan.metadata.name;
  const progress = await new ConfigMapProgressStore(cluster, name).load();
  const steps = loaded.plan.steps.map((step): StepStatusRow => {
    const record = progress?.steps[step.id];
    return {
      id: step.id,
      phase: step.phase,
      kind: step.kind,
      status: record?.status ?? "pending",
      attempts: record?.attempts ?? 0,
      finishedAt: record?.finishedAt ?? "",
      ...(record?.startedAt ? { startedAt: record.startedAt } : {}),
      error: record?.error,
    };
  });
  const planned: PlannedJoinStep[] = loaded.plan.steps.map((step) => ({
    ...step,
    record: progress?.steps[step.id],
  }));
  const newFingerprint = progress?.rollback?.finishedAt
    ? undefined
    : progress?.caFingerprints?.cluster;
  return {
    configMap: `kube-system/${progressConfigMapName(name)}`,
    progress,
    steps,
    standing: standing(planned, loaded.plan.stopAfter),
    kubeconfigs: kubeconfigNeeds(planned, progress),
    joins: joinNeeds(
      await clusterInfoCas(cluster),
      newFingerprint
        ? { fingerprint: newFingerprint, hash: await newCaHash(cluster, name) }
        : undefined,
      planned,
    ),
  };
}
