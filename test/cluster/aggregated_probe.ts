/**
 * A client of the aggregated API (aggregated_api.ts): every second it lists `flunders`
 * (`/apis/wardle.example.com/v1alpha1/namespaces/default/flunders`) through the cluster's load
 * balancer as the admin kubeconfig's user, so each request goes client → haproxy →
 * kube-apiserver → (front proxy, with the front-proxy client certificate) → sample-apiserver.
 * The kubeconfig is read afresh for every request (a rotation rewrites admin.conf) and each
 * request opens a new connection. Failures are counted by kind, with the last error of each:
 *
 * - `unauthorized` — HTTP 401: the aggregated server did not authenticate the request (a front
 *   proxy it does not trust), or kube-apiserver did not authenticate the admin;
 * - `forbidden` — HTTP 403;
 * - `unavailable` — HTTP 503: the aggregator holds the APIService unavailable (its discovery
 *   check failed) or cannot reach the aggregated server;
 * - `tls` — the load balancer's (API server's) certificate was not trusted, or the server
 *   refused ours with a TLS alert;
 * - `connection` — refused, reset, closed, timed out;
 * - `other` — any other status or error.
 *
 * ```ts
 * const probe = startAggregatedProbe({ credentials: adminCredentials(cluster.nodeRoots[0]) });
 * await new Promise((r) => setTimeout(r, 10_000));
 * const counts = await probe.stop(); // counts.failures.unauthorized …
 * ```
 * @module
 */
import { type KubeconfigCredentials, loadKubeconfigCredentials } from "./kubeconfig_credentials.ts";

/** Kinds of failed requests. */
export const FAILURE_KINDS = [
  "unauthorized",
  "forbidden",
  "unavailable",
  "tls",
  "connection",
  "other",
] as const;

/** A kind of failed request. */
export type FailureKind = typeof FAILURE_KINDS[number];

/** What the probe saw. */
export interface AggregatedProbeCounts {
  /** Requests made (each counts once in `ok` or in one kind of `failures`). */
  requests: number;
  /** Answered 200 with a FlunderList. */
  ok: number;
  /** Failed requests by kind. */
  failures: Record<FailureKind, number>;
  /** The last failure of each kind: what was answered or thrown, and when. */
  lastError: Partial<Record<FailureKind, { message: string; at: string }>>;
  /** Items of the last list that succeeded. */
  lastItems?: number;
  /** When the probe started, and when its last request ended. */
  startedAt: string;
  updatedAt?: string;
}

/** A running probe; `stop` ends it (after the request under way) and returns the counts. */
export interface AggregatedProbe {
  /** The counts so far (updated in place). */
  readonly counts: AggregatedProbeCounts;
  /** Stops the probe. */
  stop(): Promise<AggregatedProbeCounts>;
}

/** Options of {@linkcode startAggregatedProbe}. */
export interface AggregatedProbeOptions {
  /** The client's credentials and server, read before every request. */
  credentials: () => Promise<KubeconfigCredentials>;
  /** Path listed (default: the flunders of namespace `default`). */
  path?: string;
  /** Pause between the end of a request and the next (default 1000 ms). */
  intervalMs?: number;
  /** Time limit of one request (default 5000 ms). */
  timeoutMs?: number;
}

/** The flunders of a namespace, through the aggregated API. */
export function flundersPath(namespace = "default"): string {
  return `/apis/wardle.example.com/v1alpha1/namespaces/${namespace}/flunders`;
}

/**
 * The credentials of the admin kubeconfig of a control-plane node (`/etc/kubernetes/admin.conf`
 * of its root; its server is the load balancer), read afresh at every call.
 */
export function adminCredentials(
  root: string,
  kubeconfig = "/etc/kubernetes/admin.conf",
): () => Promise<KubeconfigCredentials> {
  return () => loadKubeconfigCredentials(root, kubeconfig);
}

/** All failures of a count. */
export function failureCount(counts: AggregatedProbeCounts): number {
  return FAILURE_KINDS.reduce((sum, kind) => sum + counts.failures[kind], 0);
}

/** A new, empty count. */
export function emptyCounts(): AggregatedProbeCounts {
  return {
    requests: 0,
    ok: 0,
    failures: Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>,
    lastError: {},
    startedAt: new Date().toISOString(),
  };
}

/** Starts probing (see the module documentation). */
export function startAggregatedProbe(options: AggregatedProbeOptions): AggregatedProbe {
  const counts = emptyCounts();
  const interval = options.intervalMs ?? 1000;
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      await probeOnce(options, counts);
      if (!running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    counts,
    async stop() {
      running = false;
      wake?.();
      await loop;
      return counts;
    },
  };
}

/** Makes one request and counts its outcome in `counts`. */
export async function probeOnce(
  options: AggregatedProbeOptions,
  counts: AggregatedProbeCounts,
): Promise<void> {
  const path = options.path ?? flundersPath();
  const fail = (kind: FailureKind, message: string) => {
    counts.failures[kind]++;
    counts.lastError[kind] = { message, at: new Date().toISOString() };
  };
  let client: Deno.HttpClient | undefined;
  try {
    const credentials = await options.credentials();
    client = Deno.createHttpClient({
      caCerts: credentials.caPems,
      cert: credentials.certPem,
      key: credentials.keyPem,
    });
    const response = await fetch(new URL(path, credentials.server), {
      client,
      headers: { accept: "application/json", "user-agent": "ca-rotator-test/aggregated-probe" },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    const text = await response.text();
    if (response.status === 200) {
      const list = JSON.parse(text) as { kind?: string; items?: unknown[] };
      if (list.kind !== "FlunderList") {
        fail("other", `200 on ${path} without a FlunderList: ${text.slice(0, 200)}`);
      } else {
        counts.ok++;
        counts.lastItems = list.items?.length ?? 0;
      }
    } else {
      fail(
        statusKind(response.status),
        `${response.status} on ${path}: ${statusMessage(text)}`,
      );
    }
  } catch (error) {
    const message = errorMessage(error);
    fail(classifyError(message), message);
  } finally {
    client?.close();
    counts.requests++;
    counts.updatedAt = new Date().toISOString();
  }
}

/** The kind of a failed answer with HTTP status `status`. */
export function statusKind(status: number): FailureKind {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 503:
      return "unavailable";
    default:
      return "other";
  }
}

/**
 * The kind of a request that got no answer, from the error's message (Deno's fetch reports
 * rustls and hyper errors as text): a certificate that did not verify or a TLS alert from the
 * server → `tls`; a connection refused, reset, closed or timed out → `connection`.
 */
export function classifyError(message: string): FailureKind {
  const broken =
    /refused|reset|connection closed|closed before|broken pipe|unexpected eof|timed? ?out|timeout|aborted|unreachable/i;
  if (
    /invalid peer certificate|certificate|UnknownIssuer|unknown ?ca|fatal alert|NotValidForName/i
      .test(message) && !broken.test(message)
  ) {
    return "tls";
  }
  if (broken.test(message) || /connect|os error/i.test(message)) return "connection";
  return "other";
}

/** The message of an error and of its causes. */
function errorMessage(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 5;) {
    if (e instanceof Error) {
      parts.push(`${e.name === "Error" ? "" : `${e.name}: `}${e.message}`);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(": ");
}

/** The message of a Status answer, else the start of the body. */
function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: string };
    if (status.message) return status.message;
  } catch {
    // not a Status
  }
  return text.trim().slice(0, 200);
}
