import assert from "node:assert/strict";
import { join } from "node:path";
import { KubeConfigError, loadKubeConfig } from "./kubeconfig.ts";

const config = (name: string, server: string, current?: string) =>
  [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{ name: ${name}, cluster: { server: "${server}" } }]`,
    `users: [{ name: ${name}, user: { token: t } }]`,
    `contexts: [{ name: ${name}, context: { cluster: ${name}, user: ${name} } }]`,
    current ? `current-context: ${current}` : "",
  ].join("\n");

async function withFiles(
  files: Record<string, string>,
  body: (dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-test-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The error `loadKubeConfig` throws, which must be a KubeConfigError. */
function refusal(...args: Parameters<typeof loadKubeConfig>): string {
  try {
    loadKubeConfig(...args);
  } catch (error) {
    assert.ok(error instanceof KubeConfigError, `not a KubeConfigError: ${error}`);
    return error.message;
  }
  assert.fail("the kubeconfig was accepted");
}

Deno.test("a bad --kubeconfig is refused with the file named: missing, empty, not YAML, a list", async () => {
  await withFiles({
    "empty": "  \n",
    "broken": "clusters: [unclosed\n",
    "list": "- a\n- b\n",
  }, (dir) => {
    const env = {};
    assert.match(
      refusal({ kubeconfig: join(dir, "gone"), env }),
      new RegExp(`kubeconfig ".*/gone": file not found`),
    );
    assert.match(refusal({ kubeconfig: join(dir, "empty"), env }), /"[^"]*\/empty" is empty/);
    assert.match(refusal({ kubeconfig: join(dir, "broken"), env }), /"[^"]*\/broken" is not YAML/);
    assert.match(
      refusal({ kubeconfig: join(dir, "list"), env }),
      /"[^"]*\/list" is not a kubeconfig/,
    );
  });
});

Deno.test("an unknown --context, or none at all, is refused with the contexts there are", async () => {
  await withFiles({
    "a": config("alpha", "https://198.18.0.1:6443", "alpha"),
    "nocurrent": config("beta", "https://198.18.0.2:6443"),
  }, (dir) => {
    const env = {};
    assert.match(
      refusal({ kubeconfig: join(dir, "a"), context: "prod", env }),
      /has no context "prod" \(contexts: alpha\)/,
    );
    assert.match(
      refusal({ kubeconfig: join(dir, "nocurrent"), env }),
      /sets no current-context: give --context \(contexts: beta\)/,
    );
    const chosen = loadKubeConfig({ kubeconfig: join(dir, "nocurrent"), context: "beta", env });
    assert.equal(chosen.getCurrentCluster()?.server, "https://198.18.0.2:6443");
  });
});

Deno.test("KUBECONFIG: missing entries are skipped, the first file's current-context wins, names merge", async () => {
  await withFiles({
    "a": config("alpha", "https://198.18.0.1:6443", "alpha"),
    "b": config("beta", "https://198.18.0.2:6443", "beta"),
  }, (dir) => {
    const env = { KUBECONFIG: [join(dir, "gone"), join(dir, "a"), join(dir, "b")].join(":") };
    const merged = loadKubeConfig({ env });
    assert.equal(merged.getCurrentContext(), "alpha");
    assert.deepEqual(merged.getContexts().map((context) => context.name), ["alpha", "beta"]);
    const beta = loadKubeConfig({ env, context: "beta" });
    assert.equal(beta.getCurrentCluster()?.server, "https://198.18.0.2:6443");
    assert.match(
      refusal({ env: { KUBECONFIG: `${join(dir, "gone")}:${join(dir, "gone2")}` } }),
      /KUBECONFIG names ".*gone", ".*gone2", and none of them exists/,
    );
  });
});

Deno.test("no kubeconfig anywhere is an error, never the client library's localhost:8080", async () => {
  await withFiles({}, (dir) => {
    const message = refusal({ env: { HOME: dir } });
    assert.match(message, /no cluster to talk to: give --kubeconfig/);
    assert.doesNotMatch(message, /localhost/);
  });
});

Deno.test("~/.kube/config is read when neither the flag nor KUBECONFIG is given", async () => {
  await withFiles({}, async (dir) => {
    await Deno.mkdir(join(dir, ".kube"));
    await Deno.writeTextFile(
      join(dir, ".kube", "config"),
      config("home", "https://198.18.0.3:6443", "home"),
    );
    const loaded = loadKubeConfig({ env: { HOME: dir } });
    assert.equal(loaded.getCurrentCluster()?.server, "https://198.18.0.3:6443");
  });
});
