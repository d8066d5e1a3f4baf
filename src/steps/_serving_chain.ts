/**
 * The API server endpoints whose serving certificate chain `verify` checks, and the check
 * itself: a TLS handshake that trusts one CA only succeeds when the served chain leads to it.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import { manifestFlags } from "../formats/static_pod_manifest.ts";
import type { Plan } from "../plan/schema.ts";
import { errorText } from "./_watch_object.ts";
import { manifestPath } from "../plan/node_paths.ts";

/** One API server endpoint. */
export interface ApiEndpoint {
  /** `https://198.18.1.1:6443`. */
  readonly url: string;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Where it came from: `plan`, `load balancer`, or a node name (its manifest). */
  readonly source: string;
}

/** Parses an `https://host[:port]` URL into an endpoint (port 443 when absent). */
export function parseEndpoint(url: string, source: string): ApiEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${source}: "${url}" is not a URL`);
  }
  if (parsed.protocol !== "https:") throw new Error(`${source}: "${url}" is not an https:// URL`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? 443 : Number(parsed.port);
  return { url: endpointUrl(host, port), host, port, source };
}

/** `https://host:port`, bracketing IPv6 addresses. */
export function endpointUrl(host: string, port: number): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** A control-plane node's kube-apiserver manifest text (absent: no manifest there). */
export interface ApiServerManifest {
  readonly node: string;
  readonly text: string | undefined;
}

/**
 * Pure: the endpoints to check: the plan's `apiServers.endpoints`, else each node's
 * `--advertise-address` and `--secure-port` (default 6443), plus the plan's load balancer.
 * Nodes without a manifest or an advertise address are reported in `problems`.
 */
export function apiServerEndpoints(
  apiServers: Plan["apiServers"],
  manifests: readonly ApiServerManifest[],
): { endpoints: ApiEndpoint[]; problems: string[] } {
  const endpoints: ApiEndpoint[] = [];
  const problems: string[] = [];
  if (apiServers?.endpoints) {
    for (const url of apiServers.endpoints) endpoints.push(parseEndpoint(url, "plan"));
  } else {
    for (const manifest of manifests) {
      if (manifest.text === undefined) {
        problems.push(`${manifest.node}: no kube-apiserver manifest`);
        continue;
      }
      const flags = manifestFlags(manifest.text, `${manifest.node} kube-apiserver manifest`);
      const address = flags.get("--advertise-address");
      if (!address) {
        problems.push(`${manifest.node}: kube-apiserver has no --advertise-address`);
        continue;
      }
      const port = Number(flags.get("--secure-port") ?? "6443");
      endpoints.push({
        url: endpointUrl(address, port),
        host: address,
        port,
        source: manifest.node,
      });
    }
  }
  if (apiServers?.loadBalancer) {
    endpoints.push(parseEndpoint(apiServers.loadBalancer, "load balancer"));
  }
  const seen = new Set<string>();
  return {
    endpoints: endpoints.filter((endpoint) => !seen.has(endpoint.url) && seen.add(endpoint.url)),
    problems,
  };
}

/** Reads the kube-apiserver manifests (when the plan lists no endpoints) and lists the endpoints. */
export async function planApiServerEndpoints(
  ctx: StepContext,
): Promise<{ endpoints: ApiEndpoint[]; problems: string[] }> {
  const manifests: ApiServerManifest[] = [];
  if (!ctx.apiServers?.endpoints) {
    for (const node of ctx.controlPlane) {
      const text = await node.readFile(manifestPath(ctx.layout, "kube-apiserver"));
      manifests.push({ node: node.name, text });
    }
  }
  return apiServerEndpoints(ctx.apiServers, manifests);
}

/** The outcome of one handshake. */
export interface ChainProbe {
  /** The served chain leads to the CA (and, unless `nameMismatch`, is valid for the host). */
  readonly ok: boolean;
  /** Why the handshake failed. */
  readonly error?: string;
  /** The chain leads to the CA, but the certificate does not name the host dialled. */
  readonly nameMismatch?: boolean;
}

/** Options of {@link probeServingChain}. */
export interface ProbeOptions {
  /** Check the certificate's names against the host, as clients do. Default true. */
  readonly verifyHostname?: boolean;
  /** Default 5000. */
  readonly timeoutMs?: number;
}

async function handshake(
  endpoint: ApiEndpoint,
  caPem: string,
  verifyHostname: boolean,
  timeoutMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let conn: Deno.TlsConn | undefined;
  let timedOut = false;
  const attempt = (async () => {
    conn = await Deno.connectTls({
      hostname: endpoint.host,
      port: endpoint.port,
      caCerts: [caPem],
      unsafelyDisableHostnameVerification: !verifyHostname,
    });
    if (timedOut) {
      conn.close();
      return;
    }
    await conn.handshake();
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no TLS handshake within ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
  try {
    await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
    attempt.catch(() => {});
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

const NAME_MISMATCH = /not valid for name/i;

/**
 * Dials the endpoint trusting only `caPem` (besides the platform roots, which never hold a
 * cluster CA) and completes the TLS handshake: success means the served chain leads to that
 * CA. An IP address is verified against the certificate's IP SANs; when the names do not
 * match, the chain alone is checked again and the mismatch reported.
 */
export async function probeServingChain(
  endpoint: ApiEndpoint,
  caPem: string,
  options: ProbeOptions = {},
): Promise<ChainProbe> {
  const verifyHostname = options.verifyHostname ?? true;
  const timeoutMs = options.timeoutMs ?? 5_000;
  try {
    await handshake(endpoint, caPem, verifyHostname, timeoutMs);
    return { ok: true };
  } catch (error) {
    const message = errorText(error);
    if (!verifyHostname || !NAME_MISMATCH.test(message)) return { ok: false, error: message };
    try {
      await handshake(endpoint, caPem, false, timeoutMs);
      return { ok: true, nameMismatch: true, error: message };
    } catch (again) {
      return { ok: false, error: errorText(again) };
    }
  }
}
