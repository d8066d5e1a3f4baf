/**
 * A client that keeps making authenticated requests through the load balancer for the whole
 * rotation, as an operator's kubectl would: each request reads admin.conf afresh (the rotation
 * updates its CA and re-issues its client certificate) and trusts only the CAs that file holds.
 * Failures are sorted by cause, so a test can tell trust failures from a server being down.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  kubeconfigCaData,
  kubeconfigClientCert,
  setKubeconfigCaData,
} from "../../src/formats/kubeconfig_file.ts";

/** What the probe saw. */
export interface ProbeCounts {
  requests: number;
  ok: number;
  /**
   * A certificate was not trusted: the server's (curl exit 60) or the client's (a TLS alert
   * from the server). A handshake cut short by a restarting server is not counted here.
   */
  tlsFailures: number;
  /** HTTP 401: the client certificate was not trusted. */
  unauthorized: number;
  /** Anything else: connection refused, 5xx … */
  otherFailures: number;
  /** When each of the first 100 requests that succeeded slowly (over 2 s) ended (ISO 8601). */
  slowAt: string[];
  /** The longest a successful request took, in milliseconds. */
  slowestMs: number;
  /** Times a node list showed a node that was not Ready. */
  notReadyNodes: number;
  lastFailure?: string;
}

/** A running probe; `stop` ends it and returns the counts. */
export interface Probe {
  readonly counts: ProbeCounts;
  stop(): Promise<ProbeCounts>;
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** A request that succeeds after this long is counted as slow. */
const SLOW_MS = 2_000;

/**
 * Starts probing `endpoint` with the credentials of the kubeconfig file at `kubeconfigPath`, a
 * request every `intervalMs`, each given up after `timeoutSeconds` (curl's --max-time).
 */
export function startProbe(
  endpoint: string,
  kubeconfigPath: string,
  intervalMs = 250,
  timeoutSeconds = 5,
): Probe {
  const counts: ProbeCounts = {
    requests: 0,
    ok: 0,
    tlsFailures: 0,
    unauthorized: 0,
    otherFailures: 0,
    slowAt: [],
    slowestMs: 0,
    notReadyNodes: 0,
  };
  let running = true;
  const loop = (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-probe-" });
    try {
      while (running) {
        await probeOnce(endpoint, kubeconfigPath, dir, counts, timeoutSeconds);
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return {
    counts,
    async stop() {
      running = false;
      await loop;
      return counts;
    },
  };
}

/**
 * The probe's negative control after a rotation: probes `endpoint` for 2 s with `oldKubeconfig`
 * (a kubeconfig of before the rotation) as it is, trusting the old CA only, and with `newCa` but
 * its old client certificate, each written into `dir`; prints both counts and asserts that every
 * request of the first was a TLS failure and every one of the second a 401.
 */
export async function assertOldCredentialsFail(
  endpoint: string,
  oldKubeconfig: string,
  newCa: string,
  dir: string,
  timeoutSeconds = 5,
): Promise<void> {
  const oldTrust = join(dir, "old-admin.conf");
  await Deno.writeTextFile(oldTrust, oldKubeconfig);
  const oldClient = join(dir, "old-client.conf");
  await Deno.writeTextFile(oldClient, setKubeconfigCaData(oldKubeconfig, newCa));
  const [trusting, client] = [oldTrust, oldClient].map((kubeconfig) =>
    startProbe(endpoint, kubeconfig, 100, timeoutSeconds)
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const [trustCounts, clientCounts] = [await trusting.stop(), await client.stop()];
  console.log(`probe trusting the old CA only: ${JSON.stringify(trustCounts)}`);
  console.log(`probe with an old-CA client certificate: ${JSON.stringify(clientCounts)}`);
  assert.ok(trustCounts.requests > 0);
  assert.equal(trustCounts.tlsFailures, trustCounts.requests, "every request: TLS failure");
  assert.ok(clientCounts.requests > 0);
  assert.equal(clientCounts.unauthorized, clientCounts.requests, "every request: 401");
}

async function probeOnce(
  endpoint: string,
  kubeconfigPath: string,
  dir: string,
  counts: ProbeCounts,
  timeoutSeconds: number,
): Promise<void> {
  const text = await Deno.readTextFile(kubeconfigPath);
  const [ca] = kubeconfigCaData(text);
  const client = kubeconfigClientCert(text);
  const caFile = join(dir, "ca.crt");
  const certFile = join(dir, "client.crt");
  const keyFile = join(dir, "client.key");
  await Deno.writeTextFile(caFile, ca);
  await Deno.writeTextFile(certFile, client.certPem ?? "");
  await Deno.writeTextFile(keyFile, client.keyPem ?? "", { mode: 0o600 });
  const path = counts.requests % 8 === 0 ? "/api/v1/nodes" : "/api/v1/namespaces/default";
  const output = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--max-time",
      String(timeoutSeconds),
      "--cacert",
      caFile,
      "--cert",
      certFile,
      "--key",
      keyFile,
      "-w",
      "\n%{http_code} %{time_total}",
      `${endpoint}${path}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  counts.requests++;
  const body = new TextDecoder().decode(output.stdout);
  // The last line: the HTTP status and the seconds the request took (curl's own clock).
  const [status, seconds] = body.slice(body.lastIndexOf("\n") + 1).split(" ");
  const tookMs = Number(seconds) * 1000;
  const message = new TextDecoder().decode(output.stderr).trim();
  if (isTrustFailure(output.code, message)) {
    counts.tlsFailures++;
    counts.lastFailure = `curl exit ${output.code} on ${path}: ${message}`;
  } else if (status === "401") {
    counts.unauthorized++;
    counts.lastFailure = `401 on ${path}`;
  } else if (output.code !== 0 || status !== "200") {
    counts.otherFailures++;
    counts.lastFailure = `curl exit ${output.code}, HTTP ${status} on ${path}: ${message}`;
  } else {
    counts.ok++;
    counts.slowestMs = Math.max(counts.slowestMs, tookMs);
    if (tookMs > SLOW_MS && counts.slowAt.length < 100) {
      counts.slowAt.push(new Date().toISOString());
    }
    if (path === "/api/v1/nodes") {
      const nodes = JSON.parse(body.slice(0, body.lastIndexOf("\n"))) as NodeList;
      counts.notReadyNodes += nodes.items.filter((node) =>
        !node.status?.conditions?.some((c) =>
          c.type === "Ready" && c.status === "True"
        )
      ).length;
    }
  }
}

/**
 * True when curl failed because a certificate was not trusted: exit 60 (the server's
 * certificate did not verify), or a handshake error (exit 35) caused by a certificate alert
 * from the server. Exit 35 for a connection reset or closed mid-handshake — an API server
 * shutting down behind haproxy — is availability, not trust.
 */
export function isTrustFailure(curlExit: number, message: string): boolean {
  if (curlExit === 60) return true;
  return curlExit === 35 && /alert|certificate|unknown ca/i.test(message) &&
    !/reset|SSL_ERROR_SYSCALL|unexpected eof|connection (was )?closed/i.test(message);
}
