/**
 * The dry-run overlay of the cluster: reads see what earlier steps would have written; every
 * create, replace and delete is checked by the API server with server-side dry run and kept only
 * in memory. A merge patch is computed here, without a request: it is laid over the live object
 * whenever that is read or listed, so a step that patches thousands of objects costs no request
 * per object.
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
import { mergePatched } from "../kube/objects.ts";

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

/**
 * A cluster whose writes are dry-run on the server and remembered here. Without a server to
 * check them (a read-only dry run, whose role may not send writes, dry-run ones included) they
 * are only remembered.
 */
export class OverlayClusterApi implements ClusterApi {
  readonly #base: ClusterApi;
  readonly #serverDryRun: ClusterApi | undefined;
  /** Written objects by key; `null` marks a deleted one. */
  readonly #objects = new Map<string, KubeObject | null>();
  /** Keys of objects that exist only in the overlay. */
  readonly #created = new Set<string>();
  /** Merge patches of live objects not otherwise written, in order, by key. */
  readonly #patches = new Map<string, Record<string, unknown>[]>();

  /** `base` reads the live cluster; `serverDryRun`, when given, sends writes with dryRun=All. */
  constructor(base: ClusterApi, serverDryRun?: ClusterApi) {
    this.#base = base;
    this.#serverDryRun = serverDryRun;
  }

  get kubeConfig(): KubeConfig {
    return this.#base.kubeConfig;
  }

  asClient(credentials: ClientCredentials): ClusterApi {
    return new OverlayClusterApi(
      this.#base.asClient(credentials),
      this.#serverDryRun?.asClient(credentials),
    );
  }

  async read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const key = keyOf(ref);
    if (this.#objects.has(key)) return (this.#objects.get(key) ?? undefined) as T;
    const live = await this.#base.read<T>(ref);
    return live && this.#patched(key, live);
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<T[]> {
    const items: T[] = [];
    await this.listEach<T>(apiVersion, kind, options, (item) => items.push(item));
    return items;
  }

  async listEach<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions,
    visit: (item: T) => void,
  ): Promise<string | undefined> {
    const seen = new Set<string>(); // only of objects created here
    const resourceVersion = await this.#base.listEach<T>(apiVersion, kind, options, (item) => {
      const key = keyOf({ ...refOf(item), apiVersion, kind });
      if (this.#created.has(key)) seen.add(key);
      if (!this.#objects.has(key)) visit(this.#patched(key, item));
      else if (this.#objects.get(key)) visit(this.#objects.get(key) as T);
    });
    for (const key of this.#created) {
      const object = this.#objects.get(key);
      if (!object || seen.has(key) || object.kind !== kind || object.apiVersion !== apiVersion) {
        continue;
      }
      if (options.namespace && object.metadata?.namespace !== options.namespace) continue;
      visit(object as T);
    }
    return resourceVersion;
  }

  /**
   * Records the patch without reading the object. When the object is not known here, the result
   * is the patch over the object's reference (not the whole object) and never `undefined`: the
   * overlay does not ask whether the object exists.
   */
  patch<T extends KubeObject>(
    ref: ObjectRef,
    mergePatch: Record<string, unknown>,
  ): Promise<T | undefined> {
    const key = keyOf(ref);
    if (this.#objects.has(key)) {
      const object = this.#objects.get(key);
      if (!object) return Promise.resolve(undefined);
      const patched = mergePatched(object, mergePatch);
      this.#objects.set(key, patched);
      return Promise.resolve(patched as T);
    }
    const patches = this.#patches.get(key) ?? [];
    patches.push(mergePatch);
    this.#patches.set(key, patches);
    const stub: KubeObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
    };
    return Promise.resolve(mergePatched(stub, mergePatch) as T);
  }

  /** The live object with the patches recorded for it. */
  #patched<T extends KubeObject>(key: string, live: T): T {
    const patches = this.#patches.get(key);
    return patches ? patches.reduce<T>((object, patch) => mergePatched(object, patch), live) : live;
  }

  async create<T extends KubeObject>(object: T): Promise<T> {
    const checked = this.#serverDryRun ? await this.#serverDryRun.create(object) : object;
    const key = keyOf(refOf(object));
    this.#objects.set(key, checked);
    this.#created.add(key);
    this.#patches.delete(key);
    return checked;
  }

  async replace<T extends KubeObject>(object: T): Promise<T> {
    const key = keyOf(refOf(object));
    const checked = !this.#serverDryRun
      ? object
      : this.#created.has(key)
      ? await this.#serverDryRun.create(withoutResourceVersion(object))
      : await this.#serverDryRun.replace(await this.#asOfLive(object));
    this.#objects.set(key, checked);
    this.#patches.delete(key);
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
    this.#patches.delete(keyOf(ref));
    return Promise.resolve();
  }
}

function withoutResourceVersion<T extends KubeObject>(object: T): T {
  const copy = { ...object, metadata: { ...object.metadata } };
  delete copy.metadata.resourceVersion;
  return copy;
}
