import assert from "node:assert/strict";
import { contactFailure, contactServer } from "./server_contact.ts";
import { loadKubeConfig } from "./kubeconfig.ts";
import { KubeConfigError } from "./kubeconfig_files.ts";
import { generateCa, issueCertificate } from "../pki/mod.ts";

const withCause = (message: string, code: string) =>
  new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });

/** A kubeconfig in `dir` for `server` (trusting `caPem`, when given) with a token user. */
async function writeKubeconfig(dir: string, server: string, caPem?: string): Promise<string> {
  const trust = caPem ? `, certificate-authority-data: "${btoa(caPem)}"` : "";
  const file = `${dir}/config`;
  await Deno.writeTextFile(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}"${trust} } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`,
  );
  return file;
}

Deno.test("first contact: TLS verification failures and unreachable servers are told apart", () => {
  assert.deepEqual(
    contactFailure(
      withCause("unable to verify the first certificate", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    ),
    {
      untrusted: true,
      reason: "unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
    },
  );
  assert.deepEqual(contactFailure(withCause("connect ECONNREFUSED 127.0.0.1:9", "ECONNREFUSED")), {
    untrusted: false,
    reason: "connect ECONNREFUSED 127.0.0.1:9",
  });
  assert.equal(contactFailure(new Error("HTTP 403")), undefined);
});

Deno.test("first contact: a closed port is told at once, naming server and kubeconfig", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeKubeconfig(dir, `https://127.0.0.1:${port}`);
    const started = Date.now();
    await assert.rejects(
      () => contactServer(loadKubeConfig({ kubeconfig: file }), { kubeconfig: file }),
      (error) => {
        assert.ok(!(error instanceof KubeConfigError), "an unreachable server is no bad input");
        assert.match(
          (error as Error).message,
          new RegExp(
            `Cannot reach the API server https://127.0.0.1:${port} \\(kubeconfig "${file}", ` +
              `context "ctx"\\): .*ECONNREFUSED`,
          ),
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000, "no retry");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("first contact: a server that is not an API server is named as such; an API server that refuses is not", async () => {
  const ca = await generateCa({ commonName: "test-ca", keyType: "ecdsa-p256" });
  const serving = await issueCertificate({
    ca,
    commonName: "127.0.0.1",
    ipAddresses: ["127.0.0.1"],
    extKeyUsages: ["serverAuth"],
  });
  const answers: Record<string, () => Response> = {
    html: () => new Response("<html>welcome</html>", { headers: { "content-type": "text/html" } }),
    missing: () => new Response("404 page not found", { status: 404 }),
    apiServer: () => Response.json({ major: "1", minor: "37", gitVersion: "v1.37.2" }),
    forbidden: () =>
      Response.json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 403 }, {
        status: 403,
      }),
  };
  let answer = answers.html;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: serving.certPem,
    key: serving.keyPem!,
    onListen() {},
  }, () => answer());
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeKubeconfig(dir, `https://127.0.0.1:${server.addr.port}`, ca.certPem);
    const contact = () => contactServer(loadKubeConfig({ kubeconfig: file }), { kubeconfig: file });
    for (
      const [name, why] of [
        ["html", "its /version holds no gitVersion|its /version is not JSON"],
        ["missing", "it answers /version with 404 Not Found"],
      ]
    ) {
      answer = answers[name];
      await assert.rejects(contact, (error) => {
        assert.match(
          (error as Error).message,
          new RegExp(
            `^The server https://127.0.0.1:${server.addr.port} \\(kubeconfig "${file}", ` +
              `context "ctx"\\) is not a Kubernetes API server: (${why}) \\(is the kubeconfig's server`,
          ),
          name,
        );
        return true;
      });
    }
    answer = answers.apiServer;
    await contact();
    answer = answers.forbidden;
    await contact(); // an API server that refuses this user: the requests that follow say so
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
