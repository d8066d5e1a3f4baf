/**
 * The pod processes' connection to the API server (see pod_processes.ts): JSON requests and
 * watches with the admin kubeconfig's client certificate, and a list-then-watch loop that
 * keeps a handler in step with a collection. The kubeconfig is read afresh at every
 * (re)connect, after any failure, so that the mechanism — test scaffolding standing for the
 * kubelet — follows a CA rotation that rewrites admin.conf.
 * @module
 */
import { loadKubeconfigCredentials } from "./kubeconfig_credentials.ts";
import { textLines } from "./text_lines.ts";

/** The metadata every object of the API has (what the pod processes read of it). */
export interface ObjectMeta {
  /** Name. */
  name: string;
  /** Namespace (namespaced objects). */
  namespace?: string;
  /** Unique id. */
  uid?: string;
  /** Version of the object, and of a list. */
  resourceVersion?: string;
  /** Set once the object is being deleted. */
  deletionTimestamp?: string;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
}

/** Any object of the API. */
export interface KubeObject {
  /** Its metadata. */
  metadata: ObjectMeta;
}

/** One event of a watch. */
export interface WatchEvent<T> {
  /** What happened. */
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object (a Status for ERROR). */
  object: T;
}

/** An answer of the API server other than 2xx. */
export class ApiStatusError extends Error {
  /** Creates the error of an answer with this HTTP status. */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Requests to the API server as the admin kubeconfig's user. */
export class AdminApi {
  #root: string;
  #kubeconfig: string;
  #connection?: Promise<{ client: Deno.HttpClient; server: string }>;

  /** A client for the kubeconfig at node path `kubeconfig` on the node rooted at `root`. */
  constructor(root: string, kubeconfig = "/etc/kubernetes/admin.conf") {
    this.#root = root;
    this.#kubeconfig = kubeconfig;
  }

  /** Drops the connections; the next request reads the kubeconfig again. */
  reset(): void {
    const old = this.#connection;
    this.#connection = undefined;
    old?.then((c) => c.client.close()).catch(() => {});
  }

  #connect(): Promise<{ client: Deno.HttpClient; server: string }> {
    this.#connection ??= loadKubeconfigCredentials(this.#root, this.#kubeconfig).then((c) => ({
      server: c.server,
      client: Deno.createHttpClient({ caCerts: c.caPems, cert: c.certPem, key: c.keyPem }),
    }));
    const connection = this.#connection;
    connection.catch(() => {
      if (this.#connection === connection) this.#connection = undefined;
    });
    return connection;
  }

  async #fetch(method: string, path: string, body: unknown, signal: AbortSignal) {
    const { client, server } = await this.#connect();
    const response = await fetch(new URL(path, server), {
      method,
      client,
      headers: {
        "accept": "application/json",
        "user-agent": "ca-rotator-test/pod-processes",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text).message ?? message;
      } catch {
        // not a Status
      }
      throw new ApiStatusError(
        response.status,
        `${method} ${path}: ${response.status} ${message}`.trim(),
      );
    }
    return response;
  }

  /** Makes a request and parses the JSON answer; throws {@linkcode ApiStatusError} on non-2xx. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    signal: AbortSignal = AbortSignal.timeout(15_000),
  ): Promise<T> {
    const response = await this.#fetch(method, path, body, signal);
    return await response.json() as T;
  }

  /** Opens a watch (`path` with `watch=1` in its query) and yields its events until it ends. */
  async *watch<T>(path: string, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const response = await this.#fetch("GET", path, undefined, signal);
    if (!response.body) return;
    for await (const line of textLines(response.body)) {
      if (line.trim()) yield JSON.parse(line) as WatchEvent<T>;
    }
  }
}

/** What {@linkcode listAndWatch} tells its handler. */
export interface CollectionHandler<T> {
  /** The whole collection, after every (re)list. */
  replace(items: T[]): void | Promise<void>;
  /** One change (ADDED, MODIFIED, DELETED). */
  event(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void | Promise<void>;
}

/**
 * Lists the collection at `path` (with `query`, e.g. a label selector) and then watches it from
 * the list's resourceVersion, again and again, until `signal` aborts: a watch that ends is
 * reopened from the last version seen, a 410 Gone or any failure lists again (after a failure,
 * with a new connection and a back-off of 1–10 s). Resolves once aborted.
 */
export async function listAndWatch<T extends KubeObject>(
  api: AdminApi,
  path: string,
  query: string,
  handler: CollectionHandler<T>,
  options: { signal: AbortSignal; log: (line: string) => void; what: string },
): Promise<void> {
  const { signal, log, what } = options;
  let delay = 1_000;
  while (!signal.aborted) {
    try {
      const list = await api.request<{ metadata: { resourceVersion: string }; items: T[] }>(
        "GET",
        `${path}?${query}`,
        undefined,
        AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
      );
      let version = list.metadata.resourceVersion;
      await handler.replace(list.items);
      delay = 1_000;
      let gone = false;
      while (!signal.aborted && !gone) {
        const watchPath =
          `${path}?${query}&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${version}`;
        for await (const event of api.watch<T>(watchPath, signal)) {
          if (event.type === "ERROR") {
            const status = event.object as unknown as { code?: number; message?: string };
            if (status.code === 410) {
              gone = true;
              break;
            }
            throw new Error(`watch error ${status.code}: ${status.message}`);
          }
          version = event.object.metadata.resourceVersion ?? version;
          if (event.type !== "BOOKMARK") await handler.event(event.type, event.object);
        }
      }
    } catch (error) {
      if (signal.aborted) break;
      log(`[pods] ${what}: ${(error as Error).message}; listing again in ${delay / 1000}s`);
      api.reset();
      await abortableSleep(delay, signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}
