/**
 * A cluster whose collections are listed once: the first LIST of a kind (with its namespace,
 * selectors and `namesOnly`) is kept and answered again. For a dry run, which changes nothing
 * and reads the same collections in many steps (every workload roll and pod-trust gate lists
 * every Deployment): on a cluster of thousands of workloads each LIST is megabytes the API
 * server encodes and ca-rotator parses. Reads of single objects and every write go to the base.
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

/** One collection as it was listed: its objects and resourceVersion. */
interface Listed {
  readonly items: readonly KubeObject[];
  readonly resourceVersion: string | undefined;
}

/** A key that names a LIST: its kind and every option that changes what it returns. */
function listKey(apiVersion: string, kind: string, options: ListOptions): string {
  return [
    apiVersion,
    kind,
    options.namespace ?? "",
    options.labelSelector ?? "",
    options.fieldSelector ?? "",
    options.namesOnly ? "names" : "",
    options.managedFields ? "managedFields" : "",
  ].join("|");
}

/**
 * `base` with each collection listed once. The objects kept are frozen, deeply, and every caller
 * is given the same ones: a step that changed what it was given would change what later steps
 * read, so it fails at once instead (a copy per caller cost more than the LIST it saved).
 */
export class ListOnceClusterApi implements ClusterApi {
  readonly #base: ClusterApi;
  readonly #lists = new Map<string, Promise<Listed>>();

  constructor(base: ClusterApi) {
    this.#base = base;
  }

  get kubeConfig(): KubeConfig {
    return this.#base.kubeConfig;
  }

  /** Another identity sees what it may see: its lists are its own. */
  asClient(credentials: ClientCredentials): ClusterApi {
    return new ListOnceClusterApi(this.#base.asClient(credentials));
  }

  read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return this.#base.read<T>(ref);
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<T[]> {
    return [...(await this.#listed(apiVersion, kind, options)).items] as T[];
  }

  async listEach<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions,
    visit: (item: T) => void,
  ): Promise<string | undefined> {
    const { items, resourceVersion } = await this.#listed(apiVersion, kind, options);
    for (const item of items) visit(item as T);
    return resourceVersion;
  }

  /** The collection as first listed; listed now when it has not been (or that LIST failed). */
  #listed(apiVersion: string, kind: string, options: ListOptions): Promise<Listed> {
    const key = listKey(apiVersion, kind, options);
    let listed = this.#lists.get(key);
    if (!listed) {
      listed = this.#listFrozen(apiVersion, kind, options);
      this.#lists.set(key, listed);
      listed.catch(() => this.#lists.delete(key)); // a failed LIST is tried again
    }
    return listed;
  }

  async #listFrozen(apiVersion: string, kind: string, options: ListOptions): Promise<Listed> {
    const items: KubeObject[] = [];
    const resourceVersion = await this.#base.listEach(
      apiVersion,
      kind,
      options,
      (item) => items.push(deepFrozen(item)),
    );
    return { items, resourceVersion };
  }

  create<T extends KubeObject>(object: T): Promise<T> {
    return this.#base.create(object);
  }

  replace<T extends KubeObject>(object: T): Promise<T> {
    return this.#base.replace(object);
  }

  patch<T extends KubeObject>(
    ref: ObjectRef,
    mergePatch: Record<string, unknown>,
  ): Promise<T | undefined> {
    return this.#base.patch<T>(ref, mergePatch);
  }

  delete(ref: ObjectRef): Promise<void> {
    return this.#base.delete(ref);
  }
}

/** `value`, with it and everything it holds frozen. */
function deepFrozen<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFrozen(inner);
    Object.freeze(value);
  }
  return value;
}
