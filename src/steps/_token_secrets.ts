/**
 * Legacy service-account token Secrets (`kubernetes.io/service-account-token`): the
 * controller-manager writes its `--root-ca-file` into their `ca.crt`, and a pod that mounts one
 * reads that file at start, as it would `kube-root-ca.crt`. Who mounts which, and when each came
 * to hold a CA. Listing them needs a role that may list Secrets (README, "Legacy token Secrets").
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { fingerprintsOf } from "../pki/mod.ts";

/** The type of a legacy service-account token Secret. */
export const TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token";

/** A token Secret, as far as its CA and its writers go. */
export interface TokenSecret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  metadata?: KubeObject["metadata"] & { managedFields?: { manager?: string; time?: string }[] };
}

/** A pod, as far as its Secret volumes and the Secrets its containers read go. */
export interface PodVolumes extends KubeObject {
  spec?: {
    volumes?: {
      secret?: { secretName?: string };
      projected?: { sources?: { secret?: { name?: string } }[] };
    }[];
    containers?: PodContainerEnvironment[];
    initContainers?: PodContainerEnvironment[];
  };
}

/** A container, as far as the Secrets it reads into its environment go. */
interface PodContainerEnvironment {
  env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

/** `namespace/name` of an object. */
export const objectKey = (object: KubeObject) =>
  `${object.metadata?.namespace}/${object.metadata?.name}`;

/** Every token Secret of the cluster. */
export async function listTokenSecrets(cluster: ClusterApi): Promise<TokenSecret[]> {
  return (await cluster.list<TokenSecret>("v1", "Secret", {
    fieldSelector: `type=${TOKEN_SECRET_TYPE}`,
    managedFields: true,
  })).filter((secret) => secret.type === TOKEN_SECRET_TYPE);
}

/** Pure: `namespace/name` of the Secrets a pod mounts (plain or projected volumes), once each. */
export function mountedSecrets(pod: PodVolumes): string[] {
  const names = (pod.spec?.volumes ?? []).flatMap((volume) => [
    volume.secret?.secretName,
    ...(volume.projected?.sources ?? []).map((source) => source.secret?.name),
  ]).filter((name): name is string => name !== undefined);
  return [...new Set(names)].map((name) => `${pod.metadata?.namespace}/${name}`);
}

/**
 * Pure: `namespace/name` of the Secrets a pod's containers read into environment variables
 * (`env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`), once each.
 */
export function environmentSecrets(pod: PodVolumes): string[] {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const names = containers.flatMap((container) => [
    ...(container.env ?? []).map((each) => each.valueFrom?.secretKeyRef?.name),
    ...(container.envFrom ?? []).map((each) => each.secretRef?.name),
  ]).filter((name): name is string => name !== undefined);
  return [...new Set(names)].map((name) => `${pod.metadata?.namespace}/${name}`);
}

/** Pure: the token Secrets that `pods` mount, by pod, and those no pod mounts. */
export function tokenSecretReaders(
  secrets: readonly string[],
  pods: readonly PodVolumes[],
): { mountedBy: string[]; unmounted: string[] } {
  const known = new Set(secrets);
  const mounted = new Set<string>();
  const mountedBy: string[] = [];
  for (const pod of pods) {
    for (const secret of mountedSecrets(pod).filter((each) => known.has(each))) {
      mounted.add(secret);
      mountedBy.push(`${objectKey(pod)} → ${secret.slice(secret.indexOf("/") + 1)}`);
    }
  }
  return { mountedBy: mountedBy.sort(), unmounted: secrets.filter((s) => !mounted.has(s)) };
}

/**
 * Pure: when the controller-manager last wrote an object (its managed-fields entries), else its
 * creation; undefined when neither is known.
 */
export function lastControllerManagerWrite(
  object: KubeObject & { metadata?: { managedFields?: { manager?: string; time?: string }[] } },
): Date | undefined {
  const writes = (object.metadata?.managedFields ?? [])
    .filter((entry) => entry.manager?.startsWith("kube-controller-manager") && entry.time)
    .map((entry) => new Date(entry.time!).getTime());
  const created = object.metadata?.creationTimestamp;
  const at = writes.length ? Math.max(...writes) : created ? new Date(created).getTime() : NaN;
  return Number.isNaN(at) ? undefined : new Date(at);
}

/**
 * When each token Secret (`namespace/name`) came to hold the CA of fingerprint `ca`: the
 * controller-manager's last write of those that hold it. Secrets without it are absent.
 */
export async function tokenSecretsHolding(
  secrets: readonly TokenSecret[],
  ca: string,
): Promise<Map<string, Date>> {
  const holding = new Map<string, Date>();
  for (const secret of secrets) {
    const data = secret.data?.["ca.crt"];
    const prints = data ? await fingerprintsOf(atob(data)).catch(() => []) : [];
    const at = lastControllerManagerWrite(secret);
    if (prints.includes(ca) && at) holding.set(objectKey(secret), at);
  }
  return holding;
}
