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
