/**
 * The dry-run overlay of the cluster: reads see what earlier steps would have written; every
 * write is checked by the API server with server-side dry run and kept only in memory.
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type {
  ClientCredentials,
  ClusterApi,
  KubeObject,
  ListOptions,
  ObjectRef,
} from "./cluster_api.ts";

/** A key that names an object uniquely. */
function keyOf(ref: { apiVersion?: string; kind?: string; name?: string; namespace?: string }) {
  return `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ""}|${ref.name}`;
}

function refOf(object: KubeObject): ObjectRef {
  return {
    apiVersion: object.apiVersion ?? "",
    kind: object.kind ?? "",
    name: object.metadata?.name ?? "",
    namespace: object.metadata?.namespace,
  };
}

/** A cluster whose writes are dry-run on the server and remembered here. */
export class OverlayClusterApi implements ClusterApi {
  readonly #base: ClusterApi;
  readonly #serverDryRun: ClusterApi;
  /** Written objects by key; `null` marks a deleted one. */
  readonly #objects = new Map<string, KubeObject | null>();
  /** Keys of objects that exist only in the overlay. */
  readonly #created = new Set<string>();

  /** `base` reads the live cluster; `serverDryRun` sends writes with dryRun=All. */
  constructor(base: ClusterApi, serverDryRun: ClusterApi) {
    this.#base = base;
    this.#serverDryRun = serverDryRun;
  }

  get kubeConfig(): KubeConfig {
    return this.#base.kubeConfig;
  }

  asClient(credentials: ClientCredentials): ClusterApi {
    return new OverlayClusterApi(
      this.#base.asClient(credentials),
      this.#serverDryRun.asClient(credentials),
    );
  }

  read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const key = keyOf(ref);
    if (this.#objects.has(key)) return Promise.resolve((this.#objects.get(key) ?? undefined) as T);
    return this.#base.read<T>(ref);
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<T[]> {
    const live = await this.#base.list<T>(apiVersion, kind, options);
    const result: T[] = [];
    const seen = new Set<string>();
    for (const item of live) {
      const key = keyOf({ ...refOf(item), apiVersion, kind });
      seen.add(key);
      if (!this.#objects.has(key)) result.push(item);
      else if (this.#objects.get(key)) result.push(this.#objects.get(key) as T);
    }
    for (const key of this.#created) {
      const object = this.#objects.get(key);
      if (!object || seen.has(key) || object.kind !== kind || object.apiVersion !== apiVersion) {
        continue;
      }
      if (options.namespace && object.metadata?.namespace !== options.namespace) continue;
      result.push(object as T);
    }
    return result;
  }

  async create<T extends KubeObject>(object: T): Promise<T> {
    const checked = await this.#serverDryRun.create(object);
    const key = keyOf(refOf(object));
    this.#objects.set(key, checked);
    this.#created.add(key);
    return checked;
  }

  async replace<T extends KubeObject>(object: T): Promise<T> {
    const key = keyOf(refOf(object));
    const checked = this.#created.has(key)
      ? await this.#serverDryRun.create(withoutResourceVersion(object))
      : await this.#serverDryRun.replace(await this.#asOfLive(object));
    this.#objects.set(key, checked);
    return checked;
  }

  /**
   * The object with the live resourceVersion: an earlier dry-run write may have given it
   * another, and some kinds (APIService) refuse an update without one.
   */
  async #asOfLive<T extends KubeObject>(object: T): Promise<T> {
    const live = await this.#base.read(refOf(object));
    const copy = withoutResourceVersion(object);
    const resourceVersion = live?.metadata?.resourceVersion;
    return resourceVersion ? { ...copy, metadata: { ...copy.metadata, resourceVersion } } : copy;
  }

  delete(ref: ObjectRef): Promise<void> {
    this.#objects.set(keyOf(ref), null);
    this.#created.delete(keyOf(ref));
    return Promise.resolve();
  }
}

function withoutResourceVersion<T extends KubeObject>(object: T): T {
  const copy = { ...object, metadata: { ...object.metadata } };
  delete copy.metadata.resourceVersion;
  return copy;
}
