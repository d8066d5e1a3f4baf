/**
 * The read-only dry run on the real control plane, from a directory outside the checkout: the
 * node inventory recorded with node access, then `rotate --dry-run --nodes-from-inventory` with
 * no node access (the plan's node roots point nowhere) — its node diff against a full-access dry
 * run's (per step: the file changes' names and actions, and the counts). Negative control: an
 * inventory missing a file the plan reads gives the clear error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster } from "../cluster/harness.ts";

const repo = new URL("../../", import.meta.url).pathname;

interface Doc {
  steps: {
    stepId: string;
    changes: { name: string; action: string; target: { type: string } }[];
    summary: Record<string, unknown>;
  }[];
  nodeInventory?: { recordedAt: string; ageSeconds: number };
}

/** Per step: the node file changes (name, action) and the counts. */
function nodeDiff(doc: Doc) {
  return doc.steps.map((step) => ({
    step: step.stepId,
    files: step.changes.filter((c) => c.target.type === "file").map((c) => `${c.action} ${c.name}`)
      .sort(),
    summary: step.summary,
  }));
}

Deno.test({
  name:
    "a dry run from the node inventory, without node access, shows the full-access dry run's node diff",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: 1, nodes: 2 });
  const workspace = await Deno.makeTempDir({ prefix: "plans-repository-" });
  try {
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    await Deno.writeTextFile(
      join(workspace, "plan.yaml"),
      source.replace(/^ {2}name: local-demo$/m, "  name: prod"),
    );
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(repo, "main.ts"), ...args],
        cwd: workspace,
        env: { ...cluster.env, ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const d = new TextDecoder();
      return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
    };
    const recorded = await run(["inventory", "--plan", "plan.yaml"]);
    assert.equal(recorded.code, 0, recorded.stderr);
    console.log(recorded.stderr.trim().split("\n").at(-1));
    const full = await run(["rotate", "--plan", "plan.yaml", "--dry-run", "-o", "json"]);
    assert.equal(full.code, 0, full.stderr);
    // No node access: the same node names, roots that do not exist.
    const nowhere = (roots: string) =>
      roots.split(/\s+/).filter(Boolean).map((root) => `/nonexistent/${root.split("/").at(-1)}`)
        .join(" ");
    const noNodes = {
      NODE_ROOTS: nowhere(cluster.env.NODE_ROOTS ?? ""),
      WORKER_ROOTS: nowhere(cluster.env.WORKER_ROOTS ?? ""),
    };
    // The read-only role (deploy/rbac-readonly.yaml, for plan "prod") and a token of it.
    const rbac = (await Deno.readTextFile(join(repo, "deploy/rbac-readonly.yaml")))
      .replaceAll("kubeadm-ha", "prod");
    await cluster.kubectl(["apply", "-f", "-"], { stdin: rbac });
    const token = (await cluster.kubectl(
      ["create", "token", "-n", "kube-system", "ca-rotator-readonly", "--duration=1h"],
    )).trim();
    const admin = JSON.parse(
      await cluster.kubectl(["config", "view", "--raw", "--minify", "-o", "json"]),
    );
    admin.users = [{ name: "readonly", user: { token } }];
    admin.contexts[0].context.user = "readonly";
    const kubeconfig = join(workspace, "readonly.kubeconfig");
    await Deno.writeTextFile(kubeconfig, JSON.stringify(admin));
    const readOnlyEnv = { ...noNodes, KUBECONFIG: kubeconfig, HOME: workspace };
    await eventually(
      "the read-only role to be authorized",
      async () =>
        (await run(
          ["rotate", "--plan", "plan.yaml", "--dry-run", "--nodes-from-inventory"],
          readOnlyEnv,
        ))
          .code === 0,
    );
    const readOnly = await run(
      ["rotate", "--plan", "plan.yaml", "--dry-run", "--nodes-from-inventory", "-o", "json"],
      readOnlyEnv,
    );
    assert.equal(readOnly.code, 0, readOnly.stderr);
    const a = nodeDiff(JSON.parse(full.stdout));
    const b = nodeDiff(JSON.parse(readOnly.stdout));
    assert.deepEqual(b, a);
    const files = a.reduce((n, s) => n + s.files.length, 0);
    console.log(`same node diff: ${a.length} steps, ${files} file changes`);
    assert.ok((JSON.parse(readOnly.stdout) as Doc).nodeInventory!.ageSeconds >= 0);
    assert.match(readOnly.stderr, /nodes from the node inventory recorded at \S+ \(\S+ ago\)/);
    // The read-only role cannot write: a rotate is refused, naming a forbidden request, and
    // leaves no progress ConfigMap, no Lease (negative control).
    const write = await run(["rotate", "--plan", "plan.yaml"], { KUBECONFIG: kubeconfig });
    assert.notEqual(write.code, 0, write.stderr);
    assert.match(write.stderr, /forbidden/i);
    console.log(`rotate with the read-only role: exit ${write.code}`);
    for (const kind of ["configmap", "lease"]) {
      const left = await cluster.kubectl(
        ["get", kind, "-n", "kube-system", "ca-rotator-prod", "--ignore-not-found", "-o", "name"],
      );
      assert.equal(left.trim(), "", `${kind} ca-rotator-prod was written`);
    }
    // A plan that reads a file the inventory lacks: the clear error (negative control).
    await Deno.writeTextFile(
      join(workspace, "plan.yaml"),
      (await Deno.readTextFile(join(workspace, "plan.yaml")))
        .replace(
          "files: [admin.conf, super-admin.conf, controller-manager.conf, scheduler.conf]\n    ifPresent: [super-admin.conf]",
          "files: [admin.conf, super-admin.conf, extra.conf, controller-manager.conf, scheduler.conf]\n    ifPresent: [super-admin.conf, extra.conf]",
        ),
    );
    const missing = await run(
      ["rotate", "--plan", "plan.yaml", "--dry-run", "--nodes-from-inventory"],
      readOnlyEnv,
    );
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      /control-plane-1:\/etc\/kubernetes\/extra\.conf is not in the node inventory recorded at \S+ by \S+.*run `ca-rotator inventory --plan plan\.yaml` with node access/,
    );
    console.log(`a file not in the inventory: exit ${missing.code}`);
    // Without the inventory, the same environment cannot read the nodes (negative control).
    const direct = await run(["rotate", "--plan", "plan.yaml", "--dry-run"], noNodes);
    assert.notEqual(direct.code, 0);
    console.log(`direct dry run without node access: exit ${direct.code}`);
    console.log(`took ${Math.round((Date.now() - began) / 1000)} s`);
  } finally {
    await Deno.remove(workspace, { recursive: true });
    await cluster.stop();
  }
});
