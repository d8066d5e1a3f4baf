/**
 * Two clients of the kubelets' serving certificates, counted by kind of failure:
 *
 * - the **node proxy** (the path of `kubectl logs/exec/port-forward`): `GET
 *   /api/v1/nodes/<node>/proxy/healthz` through admin.conf's server (the load balancer) as its
 *   admin (read afresh for every request: a rotation rewrites it), so an API server dials the
 *   kubelet and verifies its serving certificate with `--kubelet-certificate-authority`. An answer
 *   other than `ok` whose message speaks of a certificate is `kubeletTls`; one saying the API
 *   server could not reach the kubelet (its port closed while it restarts) is
 *   `kubeletUnreachable`. Failures towards the API server itself: `connection` (refused, reset),
 *   `apiUnavailable` (503), `apiTls`, `unauthorized`;
 * - a **scraper** like metrics-server: `GET https://<node address>:<kubelet port>/healthz`,
 *   trusting what `kube-system/kube-root-ca.crt` holds now (what a scraper restarted now would
 *   mount; the last one read while that read fails). A certificate it does not trust is `tls`,
 *   a closed port `connection`.
 *
 * Every failure is also kept with its node and the span of its request, to be set against the
 * kubelets' own restart windows (kubelet_restart_windows.ts).
 * @module
 */
import { loadKubeconfigCredentials } from "../cluster/kubeconfig_credentials.ts";
import { classifyError } from "../cluster/aggregated_probe.ts";

/** What one client saw. */
export interface ServingCounts {
  requests: number;
  ok: number;
  /** Failures by kind. */
  failures: Record<string, number>;
  /** The last failure of each kind. */
  lastError: Record<string, string>;
  /** Every failure, in the order they ended. */
  failureLog: ServingFailure[];
}

/** One failed request: its kind, its node and when it was sent and answered (ms since epoch). */
export interface ServingFailure {
  readonly kind: string;
  readonly node: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly message: string;
}

/** A running probe of both clients. */
export interface ServingProbe {
  readonly proxy: ServingCounts;
  readonly scraper: ServingCounts;
  stop(): Promise<{ proxy: ServingCounts; scraper: ServingCounts }>;
}

/** A node as the probes reach it. */
export interface ProbedNode {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

const empty = (): ServingCounts => ({
  requests: 0,
  ok: 0,
  failures: {},
  lastError: {},
  failureLog: [],
});

/** All failures of a count. */
export function failures(counts: ServingCounts): number {
  return Object.values(counts.failures).reduce((a, b) => a + b, 0);
}

function fail(
  counts: ServingCounts,
  kind: string,
  node: ProbedNode,
  startedAt: number,
  message: string,
) {
  const endedAt = Date.now();
  const text = `${node.name}: ${message.slice(0, 300)}`;
  counts.failures[kind] = (counts.failures[kind] ?? 0) + 1;
  counts.lastError[kind] = `${new Date(endedAt).toISOString()} ${text}`;
  counts.failureLog.push({ kind, node: node.name, startedAt, endedAt, message: text });
}

function text(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4;) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

async function proxyOnce(root: string, node: ProbedNode, counts: ServingCounts) {
  let client: Deno.HttpClient | undefined;
  const started = Date.now();
  try {
    const credentials = await loadKubeconfigCredentials(root, "/etc/kubernetes/admin.conf");
    client = Deno.createHttpClient({
      caCerts: credentials.caPems,
      cert: credentials.certPem,
      key: credentials.keyPem,
    });
    const response = await fetch(
      new URL(`/api/v1/nodes/${node.name}/proxy/healthz`, credentials.server),
      { client, signal: AbortSignal.timeout(5000) },
    );
    const body = await response.text();
    const answer = `${response.status} ${body}`;
    if (response.status === 200 && body.trim() === "ok") counts.ok++;
    else if (/certificate|x509|tls/i.test(body)) {
      fail(counts, "kubeletTls", node, started, answer);
    } else if (/error trying to reach service/.test(body)) {
      fail(counts, "kubeletUnreachable", node, started, answer);
    } else if (response.status === 503) {
      fail(counts, "apiUnavailable", node, started, answer);
    } else if (response.status === 401) {
      fail(counts, "unauthorized", node, started, answer);
    } else fail(counts, "other", node, started, answer);
  } catch (error) {
    const message = text(error);
    const kind = classifyError(message);
    fail(counts, kind === "tls" ? "apiTls" : kind, node, started, message);
  } finally {
    client?.close();
    counts.requests++;
  }
}

async function scrapeOnce(
  kubeRootCa: () => Promise<string>,
  node: ProbedNode,
  counts: ServingCounts,
) {
  let client: Deno.HttpClient | undefined;
  const started = Date.now();
  try {
    client = Deno.createHttpClient({ caCerts: [await kubeRootCa()] });
    const response = await fetch(`https://${node.address}:${node.port}/healthz`, {
      client,
      signal: AbortSignal.timeout(5000),
    });
    const body = await response.text();
    if (response.status === 200 && body.trim() === "ok") counts.ok++;
    else fail(counts, "other", node, started, `${response.status} ${body}`);
  } catch (error) {
    const message = text(error);
    fail(counts, classifyError(message), node, started, message);
  } finally {
    client?.close();
    counts.requests++;
  }
}

/**
 * Starts both clients: each round, every node once through the node proxy and once directly,
 * then a pause of `intervalMs`. `kubeRootCa` gives the scraper's trust (read each round).
 */
export function startServingProbe(
  root: string,
  nodes: readonly ProbedNode[],
  kubeRootCa: () => Promise<string>,
  intervalMs = 500,
): ServingProbe {
  const proxy = empty();
  const scraper = empty();
  let running = true;
  let trust: string | undefined;
  const loop = (async () => {
    while (running) {
      await Promise.all(nodes.map((node) => proxyOnce(root, node, proxy)));
      try {
        trust = await kubeRootCa();
      } catch {
        // the API server restarts: the scraper keeps the file it mounted
      }
      if (trust !== undefined) {
        await Promise.all(
          nodes.map((node) => scrapeOnce(() => Promise.resolve(trust!), node, scraper)),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    proxy,
    scraper,
    async stop() {
      running = false;
      await loop;
      return { proxy, scraper };
    },
  };
}

/** What `kube-system/kube-root-ca.crt` holds now, read as the admin of admin.conf. */
export function kubeRootCaReader(root: string): () => Promise<string> {
  return async () => {
    const credentials = await loadKubeconfigCredentials(root, "/etc/kubernetes/admin.conf");
    const client = Deno.createHttpClient({
      caCerts: credentials.caPems,
      cert: credentials.certPem,
      key: credentials.keyPem,
    });
    try {
      const response = await fetch(
        new URL("/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt", credentials.server),
        { client, signal: AbortSignal.timeout(5000) },
      );
      const body = await response.json() as { data?: Record<string, string> };
      const ca = body.data?.["ca.crt"];
      if (response.status !== 200 || !ca) throw new Error(`kube-root-ca.crt: ${response.status}`);
      return ca;
    } finally {
      client.close();
    }
  };
}
