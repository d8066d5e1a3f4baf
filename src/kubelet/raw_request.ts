/**
 * A raw API server request with a timeout, authenticated as the kubeconfig says (client
 * certificate, token, exec plugin): for paths no typed client covers well, such as the node
 * proxy's `configz`. The client library is loaded on first use, so that loading a plan
 * (validate) does not.
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";

/** The status and body of a raw response. */
export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * GETs `path` (e.g. `/api/v1/nodes/n1/proxy/configz`) from the current cluster of `config`, or
 * from `options.server` (one API server's own endpoint), trusted and authenticated the same way.
 * @throws {Error} on a network error or when `timeoutMs` passes.
 */
export async function rawGet(
  config: KubeConfig,
  path: string,
  timeoutMs: number,
  options: {
    /** One API server's own endpoint instead of the kubeconfig's server. */
    readonly server?: string;
    /** The media type asked for (default `application/json`). */
    readonly accept?: string;
  } = {},
): Promise<RawResponse> {
  const server = options.server ?? config.getCurrentCluster()?.server;
  if (!server) throw new Error("kubeconfig has no current cluster");
  const { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext } = await import(
    "@kubernetes/client-node"
  );
  const context = new RequestContext(server.replace(/\/+$/, "") + path, HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  context.setHeaderParam("Accept", options.accept ?? "application/json");
  context.setSignal(AbortSignal.timeout(timeoutMs));
  const response = await new IsomorphicFetchHttpLibrary().send(context).toPromise();
  return { status: response.httpStatusCode, body: await response.body.text() };
}
