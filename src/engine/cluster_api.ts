/**
 * The engine's contract for the Kubernetes API: read, list, create, replace and delete any
 * object, with writes guarded by resourceVersion. `KubeClusterApi` (src/kube/) satisfies it on a
 * real API server without importing it; `OverlayClusterApi` (here) lays a dry run over either.
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClientCredentials, KubeObject, ListOptions, ObjectRef } from "../kube/objects.ts";

export { apiStatus } from "../kube/objects.ts";
export type { ClientCredentials, KubeObject, ListOptions, ObjectRef } from "../kube/objects.ts";

/** What steps may do with the API. */
export interface ClusterApi {
  /** The object, or `undefined` when it does not exist. */
  read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject>(apiVersion: string, kind: string, options?: ListOptions): Promise<T[]>;
  /**
   * Visits every object of a kind, read page by page (limit/continue) as one consistent snapshot,
   * without holding the whole list: a caller keeps only what it needs of each object. Resolves
   * to the collection's resourceVersion, from which a watch sees every later change.
   */
  listEach<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions,
    visit: (item: T) => void,
  ): Promise<string | undefined>;
  create<T extends KubeObject>(object: T): Promise<T>;
  /** Replaces the object; fails with a conflict when its resourceVersion is stale. */
  replace<T extends KubeObject>(object: T): Promise<T>;
  /**
   * Applies a JSON merge patch (RFC 7386) in one request, without a read: the patched object,
   * or `undefined` when it does not exist.
   */
  patch<T extends KubeObject>(
    ref: ObjectRef,
    mergePatch: Record<string, unknown>,
  ): Promise<T | undefined>;
  delete(ref: ObjectRef): Promise<void>;
  /** The client configuration (for watches), trusting what the orchestrator trusts now. */
  readonly kubeConfig: KubeConfig;
  /**
   * The same cluster, trusted the same way, authenticating with a client certificate instead
   * (a node's, to act as the node).
   */
  asClient(credentials: ClientCredentials): ClusterApi;
}
