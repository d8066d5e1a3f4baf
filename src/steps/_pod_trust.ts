/**
 * The pod-trust inventory: which running pods read the cluster CA before their namespace's
 * `kube-root-ca.crt` held the bundle. client-go reads its CA file once, at start, so such a pod
 * trusts the old CA only and loses the API the moment the API servers serve a new-CA chain.
 * Pure rules over pod, owner and ConfigMap facts; the step kind gathers them.
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import { compareText, globMatches } from "./_namespace_selection.ts";
import { ROOT_CA_CONFIGMAP } from "./_root_ca_configmaps.ts";
import { WORKLOAD_KINDS } from "../plan/workloads.ts";
import { mountedSecrets } from "./_token_secrets.ts";

/** The kind and name of what runs a pod: `Deployment`, `DaemonSet`, `Job`, `CronJob`, … or `Pod`. */
export interface PodOwner {
  readonly kind: string;
  readonly name: string;
}

/** What the inventory knows of one pod. */
export interface PodTrustFacts {
  readonly namespace: string;
  readonly name: string;
  /** `status.startTime`; absent for a pod not started yet (it will read the current CA). */
  readonly startedAt?: Date;
  readonly owner: PodOwner;
  /** It has the API CA mounted: a projected `kube-root-ca.crt`, or an automounted token. */
  readonly mountsApiCa: boolean;
  /**
   * `namespace/name` of the legacy token Secrets it mounts (it reads their `ca.crt` at start);
   * empty when the gate does not count them.
   */
  readonly tokenSecrets: readonly string[];
}

/** A pod that trusts the old CA only, and why it is not simply rolled. */
export interface StalePod extends PodTrustFacts {
  /**
   * `covered`: this rotation rolled its owner (the rollout will replace it); `not-rolled`: a
   * workload the plan's rolls leave out; `not-a-workload`: nothing a roll could replace.
   */
  readonly coverage: "covered" | "not-rolled" | "not-a-workload";
  /** Accepted by the plan: listed, not holding the run. */
  readonly accepted: boolean;
  /** The token Secrets it read the old CA from (empty: from `kube-root-ca.crt`). */
  readonly staleTokenSecrets: readonly string[];
}

/** A plan's acceptance of pods it knows will lose the API (globs; all given must match). */
export interface PodAcceptance {
  readonly namespace: string;
  readonly pod?: string;
  /** `Kind/name` of the owner, e.g. `Job/backup-*` or `Pod/*` for bare pods. */
  readonly owner?: string;
}

/** The workloads this rotation has rolled (or, in a dry run, would have), as `ns/Kind/name`. */
export type RolledWorkloads = ReadonlySet<string>;

/** The key of a workload in {@link RolledWorkloads}. */
export function workloadKey(namespace: string, owner: PodOwner): string {
  return `${namespace}/${owner.kind}/${owner.name}`;
}

/** The kinds whose pods a roll replaces (what `roll-workloads` can roll). */
const ROLLABLE = new Set<string>(WORKLOAD_KINDS);

interface Volume {
  projected?: {
    sources?: {
      configMap?: { name?: string };
      serviceAccountToken?: unknown;
      secret?: { name?: string };
    }[];
  };
  configMap?: { name?: string };
  secret?: { secretName?: string };
}

/** A pod object, as far as the inventory reads it. */
export interface PodObject extends KubeObject {
  metadata?: KubeObject["metadata"] & {
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: { volumes?: Volume[] };
  status?: { phase?: string; startTime?: string };
}

/**
 * True when the pod has the API CA mounted: a volume (projected, as the ServiceAccount admission
 * plugin adds unless `automountServiceAccountToken: false`, or plain) of the `kube-root-ca.crt`
 * ConfigMap. A token without the CA file does not make a pod trust anything.
 */
export function podMountsApiCa(pod: PodObject): boolean {
  return (pod.spec?.volumes ?? []).some((volume) =>
    volume.configMap?.name === ROOT_CA_CONFIGMAP ||
    (volume.projected?.sources ?? []).some((source) => source.configMap?.name === ROOT_CA_CONFIGMAP)
  );
}

/** The controller named in an object's ownerReferences, if any. */
export function controllerOf(object: PodObject): PodOwner | undefined {
  const refs = object.metadata?.ownerReferences ?? [];
  const ref = refs.find((each) => each.controller) ?? refs[0];
  return ref?.kind && ref.name ? { kind: ref.kind, name: ref.name } : undefined;
}

/**
 * The workload that runs a pod: its controller, followed one step up for a ReplicaSet (to its
 * Deployment) and a Job (to its CronJob); `Pod/<name>` for a bare pod. `parents` maps
 * `<namespace>/<Kind>/<name>` of ReplicaSets and Jobs to their own controller.
 */
export function podOwner(
  pod: PodObject,
  parents: ReadonlyMap<string, PodOwner | undefined>,
): PodOwner {
  const namespace = pod.metadata?.namespace ?? "";
  const direct = controllerOf(pod);
  if (!direct) return { kind: "Pod", name: pod.metadata?.name ?? "" };
  if (direct.kind === "ReplicaSet" || direct.kind === "Job") {
    return parents.get(`${namespace}/${direct.kind}/${direct.name}`) ?? direct;
  }
  return direct;
}

/**
 * The facts of a pod the inventory needs; `tokenSecrets`: the cluster's legacy token Secrets
 * (`namespace/name`) when the gate counts the pods that mount them.
 */
export function podTrustFacts(
  pod: PodObject,
  parents: ReadonlyMap<string, PodOwner | undefined>,
  tokenSecrets: ReadonlySet<string> = new Set(),
): PodTrustFacts {
  const startTime = pod.status?.startTime;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    startedAt: startTime ? new Date(startTime) : undefined,
    owner: podOwner(pod, parents),
    mountsApiCa: podMountsApiCa(pod),
    tokenSecrets: mountedSecrets(pod).filter((secret) => tokenSecrets.has(secret)),
  };
}

/** Whether this rotation's rolls replace a pod of this owner. */
export function rollCoverage(
  namespace: string,
  owner: PodOwner,
  rolled: RolledWorkloads,
): StalePod["coverage"] {
  if (!ROLLABLE.has(owner.kind)) return "not-a-workload";
  return rolled.has(workloadKey(namespace, owner)) ? "covered" : "not-rolled";
}

/** True when the plan accepts this pod losing the API. */
export function podAccepted(pod: PodTrustFacts, accept: readonly PodAcceptance[]): boolean {
  return accept.some((rule) =>
    globMatches(rule.namespace, pod.namespace) &&
    (rule.pod === undefined || globMatches(rule.pod, pod.name)) &&
    (rule.owner === undefined || globMatches(rule.owner, `${pod.owner.kind}/${pod.owner.name}`))
  );
}

/** True when a pod started before `key`'s CA source held the new CA (absent: never did). */
function startedBefore(
  pod: PodTrustFacts,
  publishedAt: ReadonlyMap<string, Date> | Date,
  key: string,
): boolean {
  const published = publishedAt instanceof Date ? publishedAt : publishedAt.get(key);
  return published === undefined || pod.startedAt! < published;
}

/**
 * The pods that trust the old CA only: running (or pending with a start time), and started
 * before their namespace's `kube-root-ca.crt` held the new CA when they have the API CA mounted
 * (`publishedAt`: by namespace — a namespace missing from it has not got it yet, every pod there
 * is stale — or one time for every namespace), or before a legacy token Secret they mount held it
 * (`tokenPublishedAt`, by `namespace/name`, likewise). Sorted by namespace, then name.
 */
export function stalePods(
  pods: readonly PodTrustFacts[],
  publishedAt: ReadonlyMap<string, Date> | Date,
  rolled: RolledWorkloads,
  accept: readonly PodAcceptance[],
  tokenPublishedAt: ReadonlyMap<string, Date> | Date = new Map(),
): StalePod[] {
  return pods
    .filter((pod) => pod.startedAt !== undefined)
    .map((pod) => ({
      pod,
      staleRootCa: pod.mountsApiCa && startedBefore(pod, publishedAt, pod.namespace),
      staleTokenSecrets: pod.tokenSecrets.filter((secret) =>
        startedBefore(pod, tokenPublishedAt, secret)
      ),
    }))
    .filter((each) => each.staleRootCa || each.staleTokenSecrets.length > 0)
    .map(({ pod, staleTokenSecrets }) => ({
      ...pod,
      coverage: rollCoverage(pod.namespace, pod.owner, rolled),
      accepted: podAccepted(pod, accept),
      staleTokenSecrets,
    }))
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
}

const REASONS: Record<StalePod["coverage"], string> = {
  "covered": "rolled by this rotation; its rollout has not replaced the pod yet",
  "not-rolled": "the plan's rolls leave it out (an excluded namespace or kind)",
  "not-a-workload": "no Deployment, DaemonSet or StatefulSet runs it",
};

/** `ns/pod (owner Kind/name: why)`, one per pod, at most `limit`. */
export function describeStalePods(pods: readonly StalePod[], limit = 20): string {
  const shown = pods.slice(0, limit).map((pod) =>
    `${pod.namespace}/${pod.name} (owner ${pod.owner.kind}/${pod.owner.name}: ` +
    `${REASONS[pod.coverage]}${
      pod.staleTokenSecrets.length
        ? `; reads ca.crt of token Secret ${
          pod.staleTokenSecrets.map((secret) => secret.slice(secret.indexOf("/") + 1)).join(", ")
        }`
        : ""
    })`
  );
  const more = pods.length - shown.length;
  return shown.join("; ") + (more > 0 ? `; … and ${more} more` : "");
}
