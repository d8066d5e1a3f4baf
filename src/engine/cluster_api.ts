/**
 * The engine's contract for the Kubernetes API: read, list, create, replace and delete any
 * object, with writes guarded by resourceVersion. src/kube/ implements it (`KubeClusterApi` on a
 * real API server, `OverlayClusterApi` for the dry run).
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";

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

/** What steps may do with the API. */
export interface ClusterApi {
  /** The object, or `undefined` when it does not exist. */
  read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject>(apiVersion: string, kind: string, options?: ListOptions): Promise<T[]>;
  create<T extends KubeObject>(object: T): Promise<T>;
  /** Replaces the object; fails with a conflict when its resourceVersion is stale. */
  replace<T extends KubeObject>(object: T): Promise<T>;
  delete(ref: ObjectRef): Promise<void>;
  /** The client configuration (for watches), trusting what the orchestrator trusts now. */
  readonly kubeConfig: KubeConfig;
  /**
   * The same cluster, trusted the same way, authenticating with a client certificate instead
   * (a node's, to act as the node).
   */
  asClient(credentials: ClientCredentials): ClusterApi;
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
