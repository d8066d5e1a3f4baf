import assert from "node:assert/strict";
import { contactFailure, contactServer } from "./server_contact.ts";
import { loadKubeConfig } from "./kubeconfig.ts";
import { KubeConfigError } from "./kubeconfig_files.ts";

const withCause = (message: string, code: string) =>
  new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });

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
    const file = `${dir}/config`;
    await Deno.writeTextFile(
      file,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`,
    );
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
