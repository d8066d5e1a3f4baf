/**
 * Whether a workload's rollout is complete, and whether it is available, judged from its
 * status as `kubectl rollout status` judges it.
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import type { WORKLOAD_KINDS } from "../plan/workloads.ts";

/** A kind `roll-workloads` rolls. */
export type WorkloadKind = typeof WORKLOAD_KINDS[number];

/** The API version of every workload kind. */
export const WORKLOAD_API_VERSION = "apps/v1";

/**
 * Where a rollout stands: `complete`; `progressing` (wait); `failed` (it will not finish by
 * itself: the progress deadline passed); `manual` (the controller does not replace the pods
 * by itself: a paused Deployment, an `OnDelete` update strategy).
 */
export type RolloutState = "complete" | "progressing" | "failed" | "manual";

/** A rollout's state and a short account of it (`2 of 3 updated replicas available`). */
export interface RolloutStatus {
  readonly state: RolloutState;
  readonly message: string;
}

/** A workload object with the fields the judgements read (all optional, as on the wire). */
export interface WorkloadObject extends KubeObject {
  spec?: {
    replicas?: number;
    paused?: boolean;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    template?: { metadata?: { annotations?: Record<string, string> } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

const progressing = (message: string): RolloutStatus => ({ state: "progressing", message });

function generationObserved(object: WorkloadObject): RolloutStatus | undefined {
  const generation = object.metadata?.generation ?? 0;
  const observed = object.status?.observedGeneration ?? 0;
  if (observed < generation || observed === 0) {
    return progressing(`waiting for the controller to observe generation ${generation}`);
  }
  return undefined;
}

function deploymentRollout(object: WorkloadObject): RolloutStatus {
  if (object.spec?.paused) {
    return { state: "manual", message: "paused: it rolls when resumed" };
  }
  const pending = generationObserved(object);
  if (pending) return pending;
  const status = object.status ?? {};
  const deadline = status.conditions?.find((condition) =>
    condition.type === "Progressing" && condition.reason === "ProgressDeadlineExceeded"
  );
  if (deadline) {
    return {
      state: "failed",
      message: `exceeded its progress deadline: ${deadline.message ?? ""}`,
    };
  }
  const replicas = object.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < replicas) return progressing(`${updated} of ${replicas} replicas updated`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination`);
  if (available < replicas) {
    return progressing(`${available} of ${replicas} updated replicas available`);
  }
  return { state: "complete", message: `${replicas} replicas updated and available` };
}

function daemonSetRollout(object: WorkloadObject): RolloutStatus {
  if (object.spec?.updateStrategy?.type === "OnDelete") {
    return { state: "manual", message: "update strategy OnDelete: pods change only when deleted" };
  }
  const pending = generationObserved(object);
  if (pending) return pending;
  const status = object.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  if (updated < desired) return progressing(`${updated} of ${desired} pods updated`);
  if (available < desired) return progressing(`${available} of ${desired} updated pods available`);
  return { state: "complete", message: `${desired} pods updated and available` };
}

function statefulSetRollout(object: WorkloadObject): RolloutStatus {
  if (object.spec?.updateStrategy?.type === "OnDelete") {
    return { state: "manual", message: "update strategy OnDelete: pods change only when deleted" };
  }
  const pending = generationObserved(object);
  if (pending) return pending;
  const status = object.status ?? {};
  const replicas = object.spec?.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  if (ready < replicas) return progressing(`${ready} of ${replicas} pods ready`);
  const partition = object.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const updated = status.updatedReplicas ?? 0;
    if (updated < replicas - partition) {
      return progressing(`${updated} of ${replicas - partition} pods above the partition updated`);
    }
    return { state: "complete", message: `partitioned rollout complete (partition ${partition})` };
  }
  if (status.updateRevision !== status.currentRevision) {
    return progressing(`waiting for the pods to be updated to revision ${status.updateRevision}`);
  }
  return { state: "complete", message: `${replicas} pods at revision ${status.updateRevision}` };
}

/** Where the rollout of a workload stands; a workload that no longer exists is done. */
export function rolloutStatus(kind: string, object: KubeObject | undefined): RolloutStatus {
  if (object === undefined) return { state: "complete", message: "no longer exists" };
  const workload = object as WorkloadObject;
  switch (kind) {
    case "Deployment":
      return deploymentRollout(workload);
    case "DaemonSet":
      return daemonSetRollout(workload);
    case "StatefulSet":
      return statefulSetRollout(workload);
    default:
      throw new Error(`cannot judge the rollout of a ${kind}`);
  }
}

/** Whether every pod a workload wants is available, and an account of it. */
export interface Availability {
  readonly available: boolean;
  readonly message: string;
}

/**
 * Whether all of a workload's pods are available (Deployment: available replicas; DaemonSet:
 * available pods of those desired; StatefulSet: available, else ready, replicas).
 */
export function workloadAvailability(kind: string, object: KubeObject): Availability {
  const workload = object as WorkloadObject;
  const status = workload.status ?? {};
  let have: number;
  let want: number;
  switch (kind) {
    case "Deployment":
      have = status.availableReplicas ?? 0;
      want = workload.spec?.replicas ?? 1;
      break;
    case "DaemonSet":
      have = status.numberAvailable ?? 0;
      want = status.desiredNumberScheduled ?? 0;
      break;
    case "StatefulSet":
      have = status.availableReplicas ?? status.readyReplicas ?? 0;
      want = workload.spec?.replicas ?? 1;
      break;
    default:
      throw new Error(`cannot judge the availability of a ${kind}`);
  }
  return { available: have >= want, message: `${have} of ${want} available` };
}
