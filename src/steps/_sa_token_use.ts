/**
 * Which tokens signed by the old service-account key can still be in use, from what the cluster
 * shows. Projected tokens: the kubelet refreshes a pod's token once 80 % of the lifetime it
 * requested has passed, or once it is 24 h old (k8s.io/kubernetes pkg/kubelet/token,
 * requiresRefresh), and rewrites the volume at its next sync; so a pod started after every API
 * server signed with the new key holds a new-key token, and one started before holds one from
 * then on. Legacy token Secrets are never re-signed: their token's `kid` says which key signed
 * it; re-issuing one ends its old token at once, whichever key signed it (k8s.io/kubernetes
 * pkg/serviceaccount/legacy.go: the API server compares a legacy token with its Secret's copy),
 * so a running pod that reads one is cut off until it reads the new token. Pure rules; the gate
 * gathers the facts.
 * @module
 */
import { compareText } from "./_namespace_selection.ts";

/** The lifetime the ServiceAccount admission plugin's projected token requests by default. */
export const DEFAULT_TOKEN_SECONDS = 3607;

/** The kubelet refreshes a token at the latest once it is this old. */
const MAX_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;

/** Time for the kubelet's next volume sync to write a refreshed token (about a minute). */
export const VOLUME_SYNC_MARGIN_MS = 90 * 1000;

/** A running pod with a projected service-account token. */
export interface TokenPod {
  readonly namespace: string;
  readonly name: string;
  readonly startedAt: Date;
  /** The shortest `expirationSeconds` of its projected token sources. */
  readonly expirationSeconds: number;
}

/** A pod that may still hold an old-key token, and when it will not any more. */
export interface StaleTokenPod extends TokenPod {
  readonly refreshedBy: Date;
}

/** When a token issued at `issuedAt` with this lifetime has surely been replaced on disk. */
export function tokenReplacedBy(issuedAt: Date, expirationSeconds: number): Date {
  const refreshMs = Math.min(expirationSeconds * 800, MAX_TOKEN_AGE_MS);
  return new Date(issuedAt.getTime() + refreshMs + VOLUME_SYNC_MARGIN_MS);
}

/**
 * The pods that may still hold a token signed by the old key at `now`, when every API server
 * signed with the new key from `switchedAt` on: started before then, and not yet past the
 * refresh of the token they held then. Sorted by namespace, then name.
 */
export function staleTokenPods(
  pods: readonly TokenPod[],
  switchedAt: Date,
  now: Date,
): StaleTokenPod[] {
  return pods
    .filter((pod) => pod.startedAt < switchedAt)
    .map((pod) => ({ ...pod, refreshedBy: tokenReplacedBy(switchedAt, pod.expirationSeconds) }))
    .filter((pod) => pod.refreshedBy > now)
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
}

/** A legacy token Secret, as far as the gate reads it (its token is never kept). */
export interface TokenSecretKey {
  readonly namespace: string;
  readonly name: string;
  /** The `kid` of its token; undefined while it has none (the tokens controller fills it). */
  readonly keyId?: string;
}

/** Pure: the token Secrets whose token the new key did not sign (or that have none yet). */
export function staleTokenSecrets(
  secrets: readonly TokenSecretKey[],
  newKeyId: string,
): TokenSecretKey[] {
  return secrets.filter((secret) => secret.keyId !== newKeyId)
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
}

/** Pure: `namespace/name (…)` lines for the stale pods, the soonest first. */
export function describeStaleTokenPods(pods: readonly StaleTokenPod[]): string {
  return [...pods].sort((a, b) => a.refreshedBy.getTime() - b.refreshedBy.getTime())
    .map((pod) =>
      `${pod.namespace}/${pod.name} (started ${pod.startedAt.toISOString()}, token replaced by ` +
      `${pod.refreshedBy.toISOString()})`
    ).join(", ");
}

/** A running pod that reads legacy token Secrets (each `namespace/name`). */
export interface SecretTokenReader {
  /** `namespace/name` of the pod. */
  readonly pod: string;
  /** The Secrets its volumes mount or its containers read into environment variables. */
  readonly secrets: readonly string[];
}

/**
 * Pure: the running pods that read each of `secrets` (`namespace/name`), sorted; a Secret no pod
 * reads is absent.
 */
export function readersOf(
  secrets: readonly string[],
  readers: readonly SecretTokenReader[],
): Map<string, string[]> {
  const bySecret = new Map<string, string[]>();
  for (const secret of secrets) {
    const pods = readers.filter((reader) => reader.secrets.includes(secret))
      .map((reader) => reader.pod).sort(compareText);
    if (pods.length) bySecret.set(secret, pods);
  }
  return bySecret;
}

/** Pure: `secret (read by pod, pod)` for each Secret that running pods read. */
export function describeReaders(bySecret: ReadonlyMap<string, readonly string[]>): string {
  return [...bySecret].map(([secret, pods]) => `${secret} (read by ${pods.join(", ")})`)
    .join(", ");
}
