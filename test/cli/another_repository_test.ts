/**
 * ca-rotator used as the README says, from an operator's own repository outside the checkout:
 * a temporary directory holding one plan (plans/local-demo.yaml, as the test cluster needs it),
 * where `validate`, a dry run, `rotate`, `status` and `verify-kubelets` run as subprocesses with
 * that directory as their working directory — through `deno task --config <checkout>/deno.json`
 * and through a `ca-rotator` installed with `deno install` — and every relative path on their
 * command lines is the operator's. Each prints one JSON document with `-o json`, and a step
 * that fails names itself in its Error document. One cluster serves every case.
 */
import assert from "node:assert/strict";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster, type TestCluster } from "../cluster/harness.ts";

const checkout = fileURLToPath(new URL("../../", import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` in `cwd` with the cluster's environment and no INIT_CWD of ours. */
async function run(
  cluster: TestCluster,
  cwd: string,
  command: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const inherited = Deno.env.toObject();
  delete inherited.INIT_CWD; // a fresh shell in the operator's repository has none
  const output = await new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    clearEnv: true,
    env: {
      ...inherited,
      ...cluster.env,
      PATH: [dirname(Deno.execPath()), cluster.env.PATH].join(delimiter),
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/** The one JSON document a command printed, checked for the fields every document has. */
function document(result: Run, kind: string, exitCode: number, what: string) {
  assert.equal(
    result.code,
    exitCode,
    `${what} exited ${result.code}:\n${result.stderr.slice(-3000)}`,
  );
  const doc = JSON.parse(result.stdout);
  assert.equal(doc.apiVersion, "ca-rotator.dev/v1", what);
  assert.equal(doc.kind, kind, what);
  assert.equal(doc.exitCode, exitCode, what);
  return doc;
}

Deno.test({
  name: "from another repository: validate, dry run, rotate, status and verify-kubelets",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  const repo = await Deno.makeTempDir({ prefix: "ca-rotator-gitops-" });
  try {
    assert.ok(!repo.startsWith(checkout), "the repository is outside the checkout");
    await Deno.mkdir(join(repo, "plans"));
    await Deno.copyFile(join(checkout, "plans/local-demo.yaml"), join(repo, "plans/demo.yaml"));
    await Deno.copyFile(cluster.kubeconfig, join(repo, "admin.conf"));
    const taskWith = (env: Record<string, string>, ...args: string[]) =>
      run(cluster, repo, [
        Deno.execPath(),
        "task",
        "--quiet",
        "--config",
        join(checkout, "deno.json"),
        ...args,
      ], env);
    const task = (...args: string[]) => taskWith({}, ...args);
    const installed = join(repo, ".tools", "bin", "ca-rotator");
    const caRotator = (...args: string[]) => run(cluster, repo, [installed, ...args]);
    const progressExists = () =>
      cluster.kubectl(["get", "configmap", "-n", "kube-system", "ca-rotator-local-demo"])
        .then(() => true, () => false);

    /** scripts/install.ts of the checkout at `from`, writing `<root>/bin/ca-rotator`. */
    const install = (from: string, root: string) =>
      run(cluster, repo, [
        Deno.execPath(),
        "run",
        "-A",
        "--no-lock",
        join(from, "scripts/install.ts"),
        "--root",
        root,
      ]);

    await t.step(
      "the install, as the README says: a ca-rotator command held to deno.lock",
      async () => {
        const result = await install(checkout, join(repo, ".tools"));
        assert.equal(result.code, 0, result.stderr);
        assert.ok((await Deno.stat(installed)).isFile);
        const version = await caRotator("version");
        assert.equal(version.code, 0, version.stderr);
        assert.match(version.stdout, /^ca-rotator \d+\.\d+\.\d+ \(commit [0-9a-f]{12}/);
        // The control: a checkout whose lock does not pin a package the command loads (yaml) is
        // refused at start, not resolved anew; its lock is left as it was.
        const copy = await Deno.makeTempDir({ prefix: "ca-rotator-unpinned-" });
        for (const entry of ["deno.json", "deno.lock", "main.ts", "src", "scripts"]) {
          await new Deno.Command("cp", { args: ["-r", join(checkout, entry), copy] }).output();
        }
        const lockFile = join(copy, "deno.lock");
        const lock = JSON.parse(await Deno.readTextFile(lockFile));
        const yaml = Object.keys(lock.specifiers).find((key) => key.startsWith("npm:yaml@"))!;
        delete lock.npm[
          lock.specifiers[yaml].includes("@")
            ? lock.specifiers[yaml]
            : `yaml@${lock.specifiers[yaml]}`
        ];
        delete lock.specifiers[yaml];
        const unpinned = JSON.stringify(lock, null, 2) + "\n";
        await Deno.writeTextFile(lockFile, unpinned);
        assert.equal((await install(copy, join(copy, ".tools"))).code, 0);
        const refused = await run(cluster, repo, [
          join(copy, ".tools", "bin", "ca-rotator"),
          "validate",
          "--plan",
          "plans/demo.yaml",
        ]);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /lockfile is out of date/);
        assert.equal(await Deno.readTextFile(lockFile), unpinned, "the lock is not rewritten");
        await Deno.remove(copy, { recursive: true });
      },
    );

    await t.step("validate: the plan path is the repository's", async () => {
      const doc = document(
        await caRotator("validate", "--plan", "plans/demo.yaml", "-o", "json"),
        "ValidationResult",
        0,
        "validate",
      );
      assert.equal(doc.plan, "plans/demo.yaml");
      assert.equal(doc.valid, true);
      const byTask = await task("validate", "--plan", "plans/demo.yaml");
      assert.equal(byTask.code, 0, byTask.stderr);
      assert.match(byTask.stderr, /plan "plans\/demo.yaml" is valid/);
    });

    await t.step("a dry run through deno task --config changes nothing", async () => {
      const doc = document(
        await task("rotate", "--plan", "plans/demo.yaml", "--dry-run", "-o", "json"),
        "RotateResult",
        0,
        "rotate --dry-run",
      );
      assert.equal(doc.dryRun, true);
      assert.equal(doc.outcome, "done");
      const steps = doc.steps.map((step: { stepId: string }) => step.stepId);
      for (const id of ["distribute-cluster-ca", "activate-cluster-ca", "remove-old-cluster-ca"]) {
        assert.ok(steps.includes(id), `the dry run shows ${id}`);
      }
      assert.ok(doc.summary.files > 0, JSON.stringify(doc.summary));
      assert.equal(await progressExists(), false, "a dry run records no progress");
    });

    await t.step("rotate with the repository's kubeconfig runs the trust phase", async () => {
      const doc = document(
        // $KUBECONFIG points nowhere: only the relative --kubeconfig can reach the cluster.
        await taskWith(
          { KUBECONFIG: "/nonexistent/kubeconfig" },
          "rotate",
          "--plan",
          "plans/demo.yaml",
          "--kubeconfig",
          "admin.conf",
          "-o",
          "json",
        ),
        "RotateResult",
        0,
        "rotate",
      );
      assert.equal(doc.dryRun, false);
      assert.equal(doc.outcome, "done");
      assert.equal(doc.stopAfter, "trust");
      assert.ok(await progressExists(), "the run records its progress");
    });

    await t.step("status: every trust step done, the switch pending", async () => {
      const doc = document(
        await caRotator("status", "--plan", "plans/demo.yaml", "-o", "json"),
        "StatusReport",
        0,
        "status",
      );
      const rows = doc.steps as { id: string; phase: string; status: string }[];
      assert.deepEqual(
        rows.filter((row) => row.phase === "trust" && row.status !== "done").map((row) => row.id),
        [],
      );
      assert.ok(rows.filter((row) => row.phase === "switch").every((r) => r.status === "pending"));
    });

    await t.step(
      "verify-kubelets: kubelets still on the old CA hold the gate (exit 3)",
      async () => {
        const doc = document(
          await caRotator("verify-kubelets", "--plan", "plans/demo.yaml", "-o", "json"),
          "KubeletReport",
          3,
          "verify-kubelets",
        );
        assert.equal(doc.gateOpen, false);
        assert.ok(doc.nodes.length >= 2, `${doc.nodes.length} nodes`);
      },
    );

    await t.step("a failing step is an Error document naming the step", async () => {
      // A control-plane component the plan names without `optional: true` and the node does
      // not run: the step fails when it looks (a missing node root is bad input, refused before
      // any step; see test/bad_inputs/).
      await Deno.writeTextFile(
        join(repo, "plans/broken.yaml"),
        `apiVersion: ca-rotator.dev/v1
kind: RotationPlan
metadata: { name: broken }
stopAfter: trust
layout: { preset: kubeadm }
nodes:
  controlPlane: { driver: local, roots: "\${NODE_ROOTS}" }
  workers: { driver: local, roots: "\${WORKER_ROOTS:-}" }
cas:
  cluster: { source: generate, algorithm: ecdsa-p256 }
steps:
  - id: cloud-controller-manager-flags
    phase: trust
    kind: set-component-flags
    component: cloud-controller-manager
    flags: { --root-ca-file: /etc/kubernetes/pki/ca.crt }
`,
      );
      const doc = document(
        await task("rotate", "--plan", "plans/broken.yaml", "-o", "json"),
        "Error",
        1,
        "rotate of a plan whose step fails",
      );
      assert.equal(doc.command, "rotate");
      assert.equal(doc.plan, "plans/broken.yaml");
      assert.equal(doc.step, "cloud-controller-manager-flags");
      assert.equal(doc.stage, "observe");
      assert.match(
        doc.error,
        new RegExp(
          "^\\[cloud-controller-manager-flags\\] observe: control-plane-1: " +
            "/etc/kubernetes/manifests/cloud-controller-manager\\.yaml is missing",
        ),
      );
    });
  } finally {
    await cluster.stop();
    await Deno.remove(repo, { recursive: true });
  }
});
