import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./program.ts";
import { memoryPrinter } from "../engine/printer.ts";

async function init(...args: string[]) {
  const printer = memoryPrinter();
  const code = await runCli(["init", ...args], printer);
  return { code, output: printer.lines.join("\n") };
}

Deno.test("init refuses bad flags with exit 2 before it reads any kubeconfig", async () => {
  const missing = ["--kubeconfig", "/nonexistent/kubeconfig"];
  for (
    const [args, message] of [
      [["--name", "Prod_1"], /--name "Prod_1" must be a DNS label/],
      [["--driver", "local"], /--driver local needs --node-roots DIR/],
      [["--node-roots", "/srv/nodes"], /--node-roots is for --driver local only/],
      [["--driver", "winrm"], /argument 'winrm' is invalid.*ssh, local/],
    ] as const
  ) {
    const { code, output } = await init(...args, ...missing);
    assert.equal(code, 2, output);
    assert.match(output, message);
    assert.doesNotMatch(output, /nonexistent/, "refused before the kubeconfig is read");
  }
  // Negative control: good flags get as far as the kubeconfig, which is named.
  const { code, output } = await init("--name", "prod", ...missing);
  assert.equal(code, 2);
  assert.match(output, /kubeconfig "\/nonexistent\/kubeconfig": file not found/);
});

Deno.test("init never writes over an existing --out without --force (exit 2, file kept)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "plan.yaml");
    await Deno.writeTextFile(out, "mine\n");
    const { code, output } = await init("--out", out, "--kubeconfig", "/nonexistent/kubeconfig");
    assert.equal(code, 2);
    assert.match(output, /plan\.yaml exists: give --force to overwrite it, or another --out/);
    assert.equal(await Deno.readTextFile(out), "mine\n");
    // With --force it goes on (to the missing kubeconfig here): the refusal was the file's.
    const forced = await init("--out", out, "--force", "--kubeconfig", "/nonexistent/kubeconfig");
    assert.match(forced.output, /file not found/);
    assert.equal(await Deno.readTextFile(out), "mine\n", "nothing written on failure");
    const nowhere = await init("--out", join(dir, "no-such-dir/plan.yaml"));
    assert.equal(nowhere.code, 2);
    assert.match(
      nowhere.output,
      /--out .*no-such-dir\/plan\.yaml: the directory .* does not exist/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init against a server that does not answer: exit 1 naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close(); // a closed port: the connection is refused
    await Deno.writeTextFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: `https://127.0.0.1:${port}` } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const { code, output } = await init("--kubeconfig", kubeconfig);
    assert.equal(code, 1, output);
    assert.match(
      output,
      new RegExp(`Cannot reach the API server https://127.0.0.1:${port} .*ECONNREFUSED`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
