/**
 * `KubeClusterApi`: the engine's `ClusterApi` contract on a real API server, through
 * `@kubernetes/client-node`.
 * @module
 */
import {
  ApiException,
  HttpMethod,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type ResponseContext,
} from "@kubernetes/client-node";
import { withClientCertificate } from "./kubeconfig.ts";
import { readableApiError } from "./api_error.ts";
import {
  apiStatus,
  type ClientCredentials,
  type KubeObject,
  type ListOptions,
  type ObjectRef,
} from "./objects.ts";

/** Objects per page of a LIST (limit/continue): bounds the memory of one response. */
const LIST_PAGE_SIZE = 500;

/** The response type that tells {@link PlainListObjectApi} to skip the typed model. */
const PLAIN = "ca-rotator:plain-json";

/**
 * The generic object client, with LISTs returned as the plain JSON the API server sent: the typed
 * models of `@kubernetes/client-node` cost more than the request itself on lists of thousands of
 * objects (a dry run of a cluster with 5,000 Deployments spent most of its CPU deserializing).
 */
class PlainListObjectApi extends KubernetesObjectApi {
  /** A client of `config`, as `KubernetesObjectApi.makeApiClient` makes one. */
  static forConfig(config: KubeConfig): PlainListObjectApi {
    const client = config.makeApiClient(PlainListObjectApi);
    client.setDefaultNamespace(config);
    return client;
  }

  /** One page of a LIST, as plain JSON. */
  async listPage(
    apiVersion: string,
    kind: string,
    options: ListOptions,
    limit: number,
    continueToken: string | undefined,
  ): Promise<KubernetesListObject<KubernetesObject>> {
    const path = await this.specUriPath(
      { apiVersion, kind, metadata: { namespace: options.namespace } },
      "list",
    );
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    if (options.namesOnly) {
      // the server-side table kubectl prints, without the objects: its first cell is the name
      request.setHeaderParam("Accept", "application/json;as=Table;g=meta.k8s.io;v=v1");
      request.setQueryParam("includeObject", "None");
    } else request.setHeaderParam("Accept", "application/json");
    if (options.fieldSelector) request.setQueryParam("fieldSelector", options.fieldSelector);
    if (options.labelSelector) request.setQueryParam("labelSelector", options.labelSelector);
    request.setQueryParam("limit", String(limit));
    if (continueToken) request.setQueryParam("continue", continueToken);
    return await this.requestPromise(request, PLAIN);
  }

  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
    type?: string,
  ): Promise<T> {
    if (type !== PLAIN) return await super.processResponse<T>(response, type);
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return JSON.parse(await response.body.text()) as T;
    }
    throw new ApiException(
      response.httpStatusCode,
      "Unsuccessful HTTP Request",
      await response.getBodyAsAny(),
      response.headers,
    );
  }
}

/** A page of `namesOnly` (a Table, its rows' first cell the name) as objects holding the name. */
function namedItems(
  page: KubernetesListObject<KubernetesObject>,
  options: ListOptions,
): KubernetesObject[] {
  const rows = (page as unknown as { rows?: { cells?: unknown[] }[] }).rows ?? [];
  return rows.map((row) => ({
    metadata: {
      name: String(row.cells?.[0]),
      ...(options.namespace ? { namespace: options.namespace } : {}),
    },
  }));
}

/**
 * The engine's `ClusterApi` on a real API server (it satisfies the contract structurally; the
 * wiring in src/app/ holds it to it).
 */
export class KubeClusterApi {
  readonly #source: () => KubeConfig;
  readonly #dryRun: string | undefined;
  #config: KubeConfig | undefined;
  #objects: PlainListObjectApi | undefined;

  /**
   * `source` gives the configuration as of now (a new one means new connections). With
   * `serverDryRun`, every write is sent with `dryRun=All` and persists nothing.
   */
  constructor(source: KubeConfig | (() => KubeConfig), options: { serverDryRun?: boolean } = {}) {
    this.#source = typeof source === "function" ? source : () => source;
    this.#dryRun = options.serverDryRun ? "All" : undefined;
  }

  get kubeConfig(): KubeConfig {
    return this.#source();
  }

  asClient(credentials: ClientCredentials): KubeClusterApi {
    return new KubeClusterApi(() => withClientCertificate(this.#source(), credentials), {
      serverDryRun: this.#dryRun !== undefined,
    });
  }

  get #client(): PlainListObjectApi {
    const config = this.#source();
    if (config !== this.#config || !this.#objects) {
      this.#config = config;
      this.#objects = PlainListObjectApi.forConfig(config);
    }
    return this.#objects;
  }

  async read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await unsent(() =>
        this.#client.read({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
        })
      ) as T;
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw readableApiError(error, `get ${describe(ref)}`);
    }
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
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await unsent(() =>
        this.#client.listPage(apiVersion, kind, options, LIST_PAGE_SIZE, continueToken)
      ).catch((error) => {
        throw readableApiError(error, `list ${apiVersion} ${kind}`);
      });
      // every page of a paginated list is served from the first page's snapshot
      resourceVersion ??= page.metadata?.resourceVersion;
      // plain JSON: `continue` (the typed model calls it `_continue`)
      continueToken = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
      for (const item of options.namesOnly ? namedItems(page, options) : page.items) {
        item.apiVersion = apiVersion;
        item.kind = kind;
        if (!options.managedFields) delete item.metadata?.managedFields;
        visit(item as T);
      }
    } while (continueToken);
    return resourceVersion;
  }

  async patch<T extends KubeObject>(
    ref: ObjectRef,
    mergePatch: Record<string, unknown>,
  ): Promise<T | undefined> {
    try {
      return await unsent(() =>
        this.#client.patch(
          {
            ...mergePatch,
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: {
              ...(mergePatch.metadata as Record<string, unknown> | undefined),
              name: ref.name,
              namespace: ref.namespace,
            },
          } as KubernetesObject,
          undefined,
          this.#dryRun,
          "ca-rotator",
          undefined,
          PatchStrategy.MergePatch,
        )
      ) as T;
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw readableApiError(error, `patch ${describe(ref)}`);
    }
  }

  async create<T extends KubeObject>(object: T): Promise<T> {
    return await unsent(() =>
      this.#client.create(object as KubernetesObject, undefined, this.#dryRun, "ca-rotator")
    ).catch((error) => {
      throw readableApiError(error, `create ${describe(object)}`);
    }) as T;
  }

  async replace<T extends KubeObject>(object: T): Promise<T> {
    return await unsent(() =>
      this.#client.replace(object as KubernetesObject, undefined, this.#dryRun, "ca-rotator")
    ).catch((error) => {
      throw readableApiError(error, `update ${describe(object)}`);
    }) as T;
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await unsent(() =>
        this.#client.delete(
          {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: ref.name, namespace: ref.namespace },
          },
          undefined,
          this.#dryRun,
        )
      );
    } catch (error) {
      if (apiStatus(error) !== 404) throw readableApiError(error, `delete ${describe(ref)}`);
    }
  }
}

/** `Deployment team-a/web`, for messages. */
function describe(
  object: { kind?: string; name?: string; namespace?: string; metadata?: KubeObject["metadata"] },
): string {
  const name = object.name ?? object.metadata?.name ?? "";
  const namespace = object.namespace ?? object.metadata?.namespace;
  return `${object.kind ?? "object"} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** How long a request is retried while the connection cannot be made (an API server restarting). */
const UNSENT_RETRY_MS = 30_000;

/**
 * True when a request failed before it reached the API server: the connection was refused or
 * dropped before TLS was established (a restarting API server, or a load balancer that has not
 * taken it back yet). Such a request is safe to send again, a write included.
 */
export function failedUnsent(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return true;
    if (/before secure TLS connection was established|ECONNREFUSED/.test(cause.message)) {
      return true;
    }
  }
  return false;
}

/** Runs `request`, again (with back-off, up to {@link UNSENT_RETRY_MS}) while it fails unsent. */
async function unsent<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + UNSENT_RETRY_MS;
  for (let delay = 200;; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await request();
    } catch (error) {
      if (!failedUnsent(error) || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
