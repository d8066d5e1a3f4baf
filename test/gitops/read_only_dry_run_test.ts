/**
 * The read-only dry run on the real control plane, from a directory outside the checkout: the
 * node inventory recorded with node access, then `rotate --dry-run --nodes-from-inventory` with
 * no node access (the plan's node roots point nowhere) — its node diff against a full-access dry
 * run's (per step: the file changes' names and actions, and the counts). Negative control: an
 * inventory missing a file the plan reads gives the clear error.
 *
 * First, on the same cluster, the other read-only way in: `init` writes a plan for it (with a
 * webhook of the cluster CA, a legacy token Secret and a static pod mounting admin.conf added
 * for it to find), `validate` passes on it and its dry run lists the steps; the objects init
 * reads and the node files are compared before and after (negative control: one write shows).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster, type TestCluster } from "../cluster/harness.ts";
import { snapshotChanges, snapshotCluster } from "../bad_inputs/cluster_snapshot.ts";
import { readObjectsChanges, snapshotReadObjects } from "./read_objects_snapshot.ts";
import { WEBHOOK, webhookConfiguration } from "../rotation/unused_webhook.ts";

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

type Run = (
  args: string[],
  env?: Record<string, string>,
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** What init is to find, beside what the test cluster has: each goes again afterwards. */
function initFixtures(caPem: string, node: string): string {
  const mirrorPod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `kube-vip-${node}`,
      namespace: "kube-system",
      annotations: { "kubernetes.io/config.mirror": "ca-rotator-test" },
    },
    spec: {
      nodeName: node,
      automountServiceAccountToken: false,
      containers: [{
        name: "kube-vip",
        image: "ghcr.io/kube-vip/kube-vip:v0.8.0",
        volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf" }],
      }],
      volumes: [{ name: "kubeconfig", hostPath: { path: "/etc/kubernetes/admin.conf" } }],
    },
  };
  const tokenSecret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/service-account-token",
    metadata: {
      name: "legacy-token",
      namespace: "default",
      annotations: { "kubernetes.io/service-account.name": "default" },
    },
  };
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [JSON.parse(webhookConfiguration(caPem)), mirrorPod, tokenSecret],
  });
}

/**
 * `init` against the cluster, then `validate` and `rotate --dry-run` on what it wrote; nothing in
 * the cluster changes (src/cli/init_test.ts: bad flags, an existing --out, no server).
 */
async function initFromCluster(cluster: TestCluster, workspace: string, run: Run) {
  const began = Date.now();
  const node = cluster.nodes[0].name;
  const caPem = await Deno.readTextFile(join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"));
  const fixtures = initFixtures(caPem, node);
  // The token controller deletes a token Secret whose ServiceAccount does not exist (yet).
  await eventually("ServiceAccount default/default", async () =>
    (await cluster.kubectl(
      ["get", "serviceaccount", "-n", "default", "default", "--ignore-not-found", "-o", "name"],
    )).trim() !== "");
  await cluster.kubectl(["apply", "-f", "-"], { stdin: fixtures });
  await eventually("the legacy token Secret filled in", async () => {
    const secret = await cluster.kubectlJson<{ data?: Record<string, string> }>(
      ["get", "secret", "-n", "default", "legacy-token"],
    );
    return secret.data?.["ca.crt"] !== undefined;
  });
  const nodesDir = join(cluster.state.layout.options.stateDir, "nodes");
  const objectsBefore = await snapshotReadObjects(cluster);
  const before = await snapshotCluster(cluster);
  const initStarted = Date.now();
  const init = await run([
    "init",
    "--driver",
    "local",
    "--node-roots",
    nodesDir,
    "--name",
    "from-cluster",
    "--out",
    "init.yaml",
  ]);
  assert.equal(init.code, 0, init.stderr);
  const initMs = Date.now() - initStarted;
  const objectsAfter = await snapshotReadObjects(cluster);
  const after = await snapshotCluster(cluster);
  assert.deepEqual(readObjectsChanges(objectsBefore, objectsAfter), []);
  assert.deepEqual(snapshotChanges(before, after), []);
  console.log(
    `init: exit 0; ${Object.keys(objectsAfter).length} objects and ` +
      `${Object.keys(after.files).length} node files unchanged`,
  );
  console.log(init.stderr.trim());
  const text = await Deno.readTextFile(join(workspace, "init.yaml"));
  // What the cluster has, in the plan: its nodes, its API server, what init was to find.
  const roots = (names: string[]) => names.map((name) => `      - ${join(nodesDir, name)}`);
  assert.ok(
    text.includes(
      ["    roots:", ...roots(cluster.nodes.map((each) => each.name)), "    addresses:"].join("\n"),
    ),
    text,
  );
  assert.ok(text.includes(["    roots:", ...roots(cluster.workers.map((w) => w.name))].join("\n")));
  assert.match(text, new RegExp(`endpoints:\n\\s+- https://${cluster.nodes[0].ip}:6443\n`));
  assert.ok(text.includes(`loadBalancer: ${cluster.endpoint}`), "the kubeconfig's server");
  assert.equal(
    text.split(`objects: [ValidatingWebhookConfiguration/${WEBHOOK}]`).length - 1,
    2,
    "both caBundle steps name the webhook",
  );
  assert.match(text, /^ {2}- id: wait-token-secrets-bundle$/m);
  assert.match(text, /^ {2}- id: wait-token-secrets-new$/m);
  assert.match(text, /default\/legacy-token/);
  assert.match(text, /^staticPods:\n {2}restart: \[kube-vip\]$/m);
  assert.match(text, /^ {2}# - id: kubelet-serving-gate$/m, "no serverTLSBootstrap here");
  // validate passes; the dry run of the whole plan runs and lists its steps.
  const validate = await run(["validate", "--plan", "init.yaml", "-o", "json"]);
  assert.equal(validate.code, 0, validate.stderr);
  const valid = JSON.parse(validate.stdout);
  assert.equal(valid.name, "from-cluster");
  const dryRun = await run(["rotate", "--plan", "init.yaml", "--dry-run"]);
  assert.equal(dryRun.code, 0, dryRun.stderr);
  const ids = [...text.matchAll(/^ {2}- id: (\S+)$/gm)].map((match) => match[1]);
  assert.equal(ids.length, valid.steps);
  const output = dryRun.stdout + dryRun.stderr;
  const missing = ids.filter((id) => !output.includes(`[${id}]`));
  assert.deepEqual(missing, [], output);
  assert.ok(output.includes(`ValidatingWebhookConfiguration/${WEBHOOK}`), "its caBundle diff");
  const objectsDry = await snapshotReadObjects(cluster);
  assert.deepEqual(readObjectsChanges(objectsBefore, objectsDry), []);
  console.log(
    `validate: ${valid.steps} steps; dry run: exit 0, every step listed; ` +
      `init took ${(initMs / 1000).toFixed(1)} s; fixtures, init, snapshots, validate, dry run: ` +
      `${((Date.now() - began) / 1000).toFixed(1)} s`,
  );
  // Negative control: a write between two snapshots shows.
  await cluster.kubectl(
    ["annotate", "validatingwebhookconfiguration", WEBHOOK, "ca-rotator.test/touched=yes"],
  );
  const touched = readObjectsChanges(objectsBefore, await snapshotReadObjects(cluster));
  assert.ok(touched.includes(`changed ValidatingWebhookConfiguration /${WEBHOOK}`), `${touched}`);
  await cluster.kubectl(["delete", "-f", "-"], { stdin: fixtures });
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
    const run: Run = async (args, env = {}) => {
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
    await initFromCluster(cluster, workspace, run);
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    await Deno.writeTextFile(
      join(workspace, "plan.yaml"),
      source.replace(/^ {2}name: local-demo$/m, "  name: prod"),
    );
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
    // init with the read-only role, which reads no kubeadm-config: exit 1, naming the request.
    const denied = await run(["init"], readOnlyEnv);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      /Cannot read the cluster: get ConfigMap kube-system\/kubeadm-config: HTTP 403 Forbidden: .*cannot get resource "configmaps"/,
    );
    console.log(`init with the read-only role: exit ${denied.code}`);
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
