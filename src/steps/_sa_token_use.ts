/**
 * Which tokens signed by the old service-account key can still be in use, from what the cluster
 * shows. Projected tokens: the kubelet refreshes a pod's token once 80 % of the lifetime it
 * requested has passed, or once it is 24 h old (k8s.io/kubernetes pkg/kubelet/token,
 * requiresRefresh), and rewrites the volume at its next sync; so a pod started after every API
 * server signed with the new key holds a new-key token, and one started before holds one from
 * then on. Legacy token Secrets are never re-signed: their token's `kid` says which key signed
 * it. A re-issued one reaches a pod that mounts it at the kubelet's next volume sync and the
 * client's next read of the file; a pod that read it into an environment variable keeps the old
 * token until it restarts. Pure rules; the gate gathers the facts.
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

/**
 * client-go's in-cluster config reads its token file again about once a minute
 * (k8s.io/client-go transport, NewCachedFileTokenSource).
 */
const CLIENT_REREAD_MS = 60 * 1000;

/**
 * How long after a token Secret changed a pod that mounts it surely uses the new token: the
 * kubelet's next volume sync, then the client's next read of the file (150 s).
 */
export const SECRET_TOKEN_PROPAGATION_SECONDS = (VOLUME_SYNC_MARGIN_MS + CLIENT_REREAD_MS) / 1000;

/** A running pod that reads legacy token Secrets (each `namespace/name`). */
export interface SecretTokenReader {
  /** `namespace/name` of the pod. */
  readonly pod: string;
  readonly startedAt: Date;
  /** The Secrets its volumes mount: the kubelet writes their changes into the volume. */
  readonly mounted: readonly string[];
  /** The Secrets its containers read into environment variables, once, when they started. */
  readonly inEnvironment: readonly string[];
}

/** A pod that may still use the token a re-issued Secret held before. */
export interface StaleSecretReader {
  readonly pod: string;
  readonly secret: string;
  /** When it uses the new token at the latest; absent when only a restart gives it the new one. */
  readonly readsNewBy?: Date;
}

/**
 * Pure: the pods that may still use a token Secret's old token at `now`, given when each Secret
 * that now holds a new-key token was last written (`rewrittenAt`, by `namespace/name`): a pod
 * that mounts one until `propagationSeconds` after that write, and a pod that read one into its
 * environment before that write until it restarts. Sorted by pod, then Secret.
 */
export function staleSecretReaders(
  readers: readonly SecretTokenReader[],
  rewrittenAt: ReadonlyMap<string, Date>,
  now: Date,
  propagationSeconds: number,
): StaleSecretReader[] {
  const stale: StaleSecretReader[] = [];
  for (const reader of readers) {
    for (const secret of new Set(reader.mounted)) {
      const written = rewrittenAt.get(secret);
      if (!written) continue;
      const readsNewBy = new Date(written.getTime() + propagationSeconds * 1000);
      if (readsNewBy > now) stale.push({ pod: reader.pod, secret, readsNewBy });
    }
    for (const secret of new Set(reader.inEnvironment)) {
      const written = rewrittenAt.get(secret);
      if (written && reader.startedAt < written) stale.push({ pod: reader.pod, secret });
    }
  }
  return stale.sort((a, b) => compareText(a.pod, b.pod) || compareText(a.secret, b.secret));
}

/** Pure: `pod (secret)` for each stale reader, with when it reads the new token if it will. */
export function describeStaleSecretReaders(readers: readonly StaleSecretReader[]): string {
  return readers.map((reader) =>
    `${reader.pod} (${reader.secret}${
      reader.readsNewBy ? `, the new token by ${reader.readsNewBy.toISOString()}` : ""
    })`
  ).join(", ");
}
