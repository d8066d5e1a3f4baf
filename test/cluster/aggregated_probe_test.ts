/**
 * The aggregated-API probe against HTTPS servers on loopback: each answer and each way a
 * request can fail lands in its kind, with the error Deno's fetch really reports.
 */
import assert from "node:assert/strict";
import { issueCertificate } from "./aggregated_api.ts";
import {
  type AggregatedProbeCounts,
  classifyError,
  emptyCounts,
  failureCount,
  probeOnce,
  startAggregatedProbe,
} from "./aggregated_probe.ts";
import type { KubeconfigCredentials } from "./kubeconfig_credentials.ts";

const FLUNDERS = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders";

Deno.test("aggregated probe: answers and failures by kind", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ca-rotator-probe-test-" });
  const ca = await issueCertificate(dir, "ca", { commonName: "probe-test-ca" });
  const unrelatedCa = await issueCertificate(dir, "unrelated-ca", { commonName: "unrelated" });
  const serving = await issueCertificate(dir, "serving", {
    commonName: "localhost",
    ca,
    usage: "server",
    ipAddresses: ["127.0.0.1"],
  });
  const client = await issueCertificate(dir, "client", {
    commonName: "admin",
    ca,
    usage: "client",
  });
  const answers: Record<string, [number, unknown]> = {
    [`${FLUNDERS}`]: [200, { kind: "FlunderList", items: [{}, {}] }],
    "/401": [401, { kind: "Status", message: "Unauthorized" }],
    "/403": [403, { kind: "Status", message: "flunders is forbidden" }],
    "/503": [503, { kind: "Status", message: "service unavailable" }],
    "/418": [418, "teapot"],
    "/not-a-list": [200, { kind: "Status" }],
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: serving.certPem, key: serving.keyPem, onListen() {} },
    (request) => {
      const [status, body] = answers[new URL(request.url).pathname] ?? [404, "not found"];
      return Response.json(body, { status });
    },
  );
  const credentials = (server: string, caPem = ca.certPem) => () =>
    Promise.resolve<KubeconfigCredentials>({
      server,
      caPems: [caPem],
      certPem: client.certPem,
      keyPem: client.keyPem,
    });
  const url = `https://127.0.0.1:${server.addr.port}`;
  const once = async (path: string, options: { server?: string; caPem?: string } = {}) => {
    const counts = emptyCounts();
    await probeOnce(
      { credentials: credentials(options.server ?? url, options.caPem), path, timeoutMs: 1000 },
      counts,
    );
    assert.equal(counts.requests, 1);
    assert.equal(counts.ok + failureCount(counts), 1);
    return counts;
  };
  const only = (counts: AggregatedProbeCounts) => {
    const kinds = Object.entries(counts.failures).filter(([, n]) => n > 0).map(([k]) => k);
    return counts.ok === 1 ? "ok" : kinds.join(",");
  };

  try {
    await t.step("200 with a FlunderList is a success", async () => {
      const counts = await once(FLUNDERS);
      assert.equal(only(counts), "ok");
      assert.equal(counts.lastItems, 2);
    });

    await t.step("401, 403, 503 and other answers", async () => {
      for (
        const [path, kind, message] of [
          ["/401", "unauthorized", "401 on /401: Unauthorized"],
          ["/403", "forbidden", "403 on /403: flunders is forbidden"],
          ["/503", "unavailable", "503 on /503: service unavailable"],
          ["/418", "other", `418 on /418: "teapot"`],
          ["/not-a-list", "other", `200 on /not-a-list without a FlunderList: {"kind":"Status"}`],
        ] as const
      ) {
        const counts = await once(path);
        assert.equal(only(counts), kind, path);
        assert.equal(counts.lastError[kind]?.message, message);
      }
    });

    await t.step("a server certificate from an unrelated CA is a TLS failure", async () => {
      const counts = await once(FLUNDERS, { caPem: unrelatedCa.certPem });
      assert.equal(only(counts), "tls", JSON.stringify(counts.lastError));
      assert.match(counts.lastError.tls!.message, /UnknownIssuer|certificate/i);
    });

    await t.step("refused, closed and silent servers are connection failures", async () => {
      // Refused: a port nothing listens on any more.
      const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const gonePort = gone.addr.port;
      gone.close();
      const refused = await once(FLUNDERS, { server: `https://127.0.0.1:${gonePort}` });
      assert.equal(only(refused), "connection", JSON.stringify(refused.lastError));

      // Closed mid-handshake (an API server going away behind the load balancer).
      const closing = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closer = (async () => {
        for await (const conn of closing) conn.close();
      })();
      const closed = await once(FLUNDERS, { server: `https://127.0.0.1:${closing.addr.port}` });
      assert.equal(only(closed), "connection", JSON.stringify(closed.lastError));

      // Accepts and never answers: the request times out.
      const held: Deno.Conn[] = [];
      const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const holder = (async () => {
        for await (const conn of silent) held.push(conn);
      })();
      const timedOut = await once(FLUNDERS, { server: `https://127.0.0.1:${silent.addr.port}` });
      assert.equal(only(timedOut), "connection", JSON.stringify(timedOut.lastError));

      closing.close();
      silent.close();
      for (const conn of held) conn.close();
      await Promise.allSettled([closer, holder]);
      console.error(
        `  refused: ${refused.lastError.connection?.message}\n  closed: ${closed.lastError.connection?.message}\n  timed out: ${timedOut.lastError.connection?.message}`,
      );
    });

    await t.step("the probe repeats until stopped", async () => {
      const probe = startAggregatedProbe({ credentials: credentials(url), intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 500));
      const counts = await probe.stop();
      const after = counts.requests;
      assert.ok(counts.requests >= 3, JSON.stringify(counts));
      assert.equal(counts.ok, counts.requests);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(counts.requests, after);
    });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aggregated probe: error messages by kind", () => {
  for (
    const [message, kind] of [
      ["client error (Connect): invalid peer certificate: UnknownIssuer", "tls"],
      ["client error (Connect): received fatal alert: BadCertificate", "tls"],
      [
        "client error (Connect): tcp connect error: Connection refused (os error 111)",
        "connection",
      ],
      ["client error (SendRequest): connection closed before message completed", "connection"],
      ["client error (Connect): tls handshake eof", "connection"],
      [
        "client error (Connect): peer closed connection without sending TLS close_notify",
        "connection",
      ],
      ["TimeoutError: Signal timed out.", "connection"],
      ["something else", "other"],
    ] as const
  ) {
    assert.equal(classifyError(message), kind, message);
  }
});
