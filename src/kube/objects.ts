/**
 * The shapes of Kubernetes API objects and requests ca-rotator works with, and how to read an
 * API error: plain data, shared by the engine's `ClusterApi` contract and its implementations.
 * @module
 */

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string | Date;
    generation?: number;
    managedFields?: unknown;
  };
  [field: string]: unknown;
}

/** Names one object. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Options of a list call. */
export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Only the objects' names: each object visited holds `metadata.name` alone (and the option's
   * `namespace`), for a cluster-scoped kind or one namespace. The API server sends a table of
   * names instead of the objects (a Node is about 8 KB of JSON, its row 0.3 KB).
   */
  readonly namesOnly?: boolean;
  /**
   * Keep each object's `metadata.managedFields` (who wrote which field, and when): dropped from
   * listed objects otherwise, as no reader but a few needs them and they are often half an
   * object's size.
   */
  readonly managedFields?: boolean;
}

/**
 * Pure: `patch` merged into `target` as a JSON merge patch (RFC 7386) does it: objects merge
 * key by key, `null` removes a key, anything else replaces. `target` is not changed.
 */
export function mergePatched<T>(target: T, patch: unknown): T {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch as T;
  const base: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...target as Record<string, unknown> }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatched(base[key], value);
  }
  return base as T;
}

/** A client certificate and its key, as PEM. */
export interface ClientCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}

/** The HTTP status of an API error, when it has one. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}
