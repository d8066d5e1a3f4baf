/**
 * Start-up is paid only by the command that needs it: `--help` and `validate` never load the
 * Kubernetes client. Checked twice: in the module graph (what main.ts and validate.ts import
 * statically, i.e. load before running) and at run time (a build in which the client throws
 * when loaded still validates a plan).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const CLIENT = "@kubernetes/client-node";

interface Dependency {
  readonly specifier: string;
  readonly code?: { readonly specifier: string };
  readonly isDynamic?: boolean;
}
interface ModuleInfo {
  readonly specifier: string;
  readonly dependencies?: readonly Dependency[];
}
interface Graph {
  readonly modules: readonly ModuleInfo[];
  readonly redirects: Record<string, string>;
}

async function moduleGraph(root: string): Promise<Graph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** The modules `root` loads before it runs: its static imports (not type-only), transitively. */
function staticClosure(graph: Graph, root: string): Set<string> {
  const bySpecifier = new Map(graph.modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    const resolved = graph.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) return;
    seen.add(resolved);
    for (const dependency of bySpecifier.get(resolved)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) visit(dependency.code.specifier);
    }
  };
  visit(root);
  return seen;
}

const url = (path: string) => new URL(path, `file://${repo}`).href;
const loadsClient = (modules: Set<string>) => [...modules].some((m) => m.includes(CLIENT));

Deno.test("--help and validate load no Kubernetes client; rotate does (module graph)", async () => {
  const graph = await moduleGraph("main.ts");
  const startup = staticClosure(graph, url("main.ts"));
  assert.ok(startup.has(url("src/cli/program.ts")));
  assert.ok(!loadsClient(startup), "main.ts loads the client before any command runs");
  const packages = [...startup].filter((m) => m.startsWith("npm:"));
  assert.deepEqual(
    packages.filter((m) => !/^npm:\/(@commander-js\/extra-typings|commander)@/.test(m)),
    [],
    "main.ts loads no package but the command-line parser before a command runs",
  );
  assert.ok(
    ![...startup].some((m) => /\/src\/(steps|kube|state|nodes|pki)\//.test(m)),
    "main.ts loads no step kind, API client, node driver or PKI before a command runs",
  );

  const validate = staticClosure(graph, url("src/cli/validate.ts"));
  assert.ok(validate.has(url("src/steps/kinds.ts")), "validate loads the step kinds");
  assert.ok(!loadsClient(validate), "validate loads the Kubernetes client");

  // Negative control: the check sees the client where it is loaded.
  assert.ok(loadsClient(staticClosure(graph, url("src/cli/rotate.ts"))), "rotate loads it");
});

Deno.test("--help and validate run where loading the Kubernetes client fails (run time)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ca-rotator-tripwire-" });
  try {
    const config = JSON.parse(await Deno.readTextFile(join(repo, "deno.json")));
    config.imports[CLIENT] = "data:text/javascript,throw new Error('tripwire: client-node loaded')";
    delete config.tasks;
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config));
    const run = async (...args: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", "--config", join(dir, "deno.json"), "main.ts", ...args],
        cwd: repo,
        env: { INIT_CWD: "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, out: text(output.stdout) + text(output.stderr) };
    };
    const help = await run("--help");
    assert.equal(help.code, 0, help.out);
    assert.match(help.out, /Usage: ca-rotator/);
    const validate = await run("validate", "--plan", "plans/kubeadm.yaml");
    assert.equal(validate.code, 0, validate.out);
    assert.match(validate.out, /is valid: 45 steps/);
    // Negative control: a command that needs the client trips the wire.
    const rotate = await run("rotate", "--plan", "plans/kubeadm.yaml", "--dry-run");
    assert.notEqual(rotate.code, 0);
    assert.match(rotate.out, /client-node/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
