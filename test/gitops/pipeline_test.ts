/**
 * The pipelines of docs/ci.md, run as their CI runners would, from a plan repository of the
 * user's (a temporary git repository outside this checkout) against the local control plane:
 * the pull request's dry run, the merge's rotate, and each commit that moves `stopAfter`, through
 * finalize — then the GitLab jobs on the finished rotation.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../cluster/harness.ts";
import { parse } from "yaml";
import {
  git,
  pipelineAdminToken,
  pipelineFromDocs,
  runGithubJob,
  runGitlabJob,
  tokenKubeconfig,
} from "./pipeline.ts";

const repo = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "docs/ci.md's pipelines rotate the cluster from a plan repository, phase by phase",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const cluster = await startCluster({ apiServers: 1, nodes: 2 });
  const workspace = await Deno.makeTempDir({ prefix: "plans-repository-" });
  const emptyHome = await Deno.makeTempDir({ prefix: "runner-home-" });
  const ghSecrets = await Deno.makeTempDir({ prefix: "gh-secrets-" });
  try {
    const token = await pipelineAdminToken(cluster);

    // The pull request's identity: deploy/rbac-readonly.yaml's ServiceAccount, for plan "prod".
    await cluster.kubectl(["apply", "-f", "-"], {
      stdin: (await Deno.readTextFile(join(repo, "deploy/rbac-readonly.yaml")))
        .replaceAll("kubeadm-ha", "prod"),
    });
    const readOnlyToken = (await cluster.kubectl([
      "create",
      "token",
      "-n",
      "kube-system",
      "ca-rotator-readonly",
      "--duration=2h",
    ])).trim();

    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    const plan = (phase: string) =>
      source
        .replace(/^ {2}name: local-demo$/m, "  name: prod")
        .replace(/^stopAfter: .*$/m, `stopAfter: ${phase}`);
    await Deno.mkdir(join(workspace, "plans"));
    await git(workspace, "init", "-q", "-b", "main");

    const github = await pipelineFromDocs(".github/workflows/ca-rotation.yaml");
    const env = {
      ...cluster.env,
      HOME: Deno.env.get("HOME") ?? "/root",
      PATH: `${ghSecrets}:${Deno.env.get("PATH")}`,
    };
    const secrets: Record<string, string> = {
      CA_ROTATOR_KUBECONFIG: await tokenKubeconfig(cluster, token),
      CA_ROTATOR_READONLY_KUBECONFIG: await tokenKubeconfig(cluster, readOnlyToken),
      CA_ROTATOR_SECRETS_TOKEN: "a token that may write the repository's secrets",
    };
    // GitHub's `gh secret set NAME` (reads the value on stdin), stood in for: the value lands in
    // a file the test reads back as the repository's secret for the next job.
    await Deno.writeTextFile(
      join(ghSecrets, "gh"),
      `#!/usr/bin/env bash\nset -eu\n[ "$1 $2" = "secret set" ] && [ -n "$GH_TOKEN" ]\n` +
        `cat > "${ghSecrets}/$3.value"\n`,
      { mode: 0o755 },
    );
    const takeSetSecrets = async () => {
      for await (const entry of Deno.readDir(ghSecrets)) {
        if (!entry.name.endsWith(".value")) continue;
        const file = join(ghSecrets, entry.name);
        secrets[entry.name.slice(0, -".value".length)] = await Deno.readTextFile(file);
        await Deno.remove(file);
        console.log(`gh secret set ${entry.name.slice(0, -".value".length)}`);
      }
    };
    // The pull request's runner reaches no node: the plan's node roots (same names) lead
    // nowhere, and its HOME holds no ssh key.
    const nowhere = (roots = "") =>
      roots.split(/\s+/).filter(Boolean).map((root) => `/nonexistent/${root.split("/").at(-1)}`)
        .join(" ");
    const noNodes = {
      NODE_ROOTS: nowhere(cluster.env.NODE_ROOTS),
      WORKER_ROOTS: nowhere(cluster.env.WORKER_ROOTS),
      HOME: emptyHome,
      // Deno's own cache (the runner's setup step would have filled it) stays where it was.
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
    };
    const job = async (name: string, event: string) => {
      const jobEnv = event === "pull_request" ? { ...env, ...noNodes } : env;
      const run = await runGithubJob(github, name, { workspace, secrets, env: jobEnv, event });
      console.log(`${event} → ${name}: exit ${run.code}, summary ${run.summary.length} bytes`);
      return run;
    };

    // Before the first pull request: the node inventory, recorded with node access.
    await Deno.writeTextFile(join(workspace, "plans/prod.yaml"), plan("trust"));
    const inventory = await job("inventory", "workflow_dispatch");
    assert.equal(inventory.code, 0, inventory.log);
    assert.match(inventory.log, /recorded the node inventory of "prod"/);

    for (const phase of ["trust", "switch", "finalize"]) {
      // The pull request that sets stopAfter: its dry run and summary.
      await Deno.writeTextFile(join(workspace, "plans/prod.yaml"), plan(phase));
      const pullRequest = await job("dry-run", "pull_request");
      assert.equal(pullRequest.code, 0, pullRequest.log);
      assert.match(pullRequest.log, /plan "plans\/prod.yaml" is valid/);
      // ca-rotator's action (action.yml) installed it: its version line names the commit.
      assert.match(pullRequest.log, /ca-rotator \d+\.\d+\.\d+ \(commit [0-9a-f]{12}/);
      assert.match(pullRequest.summary, /<details>/, "the summary collapses the diff per step");
      // Read-only: the nodes from the inventory the last run with node access recorded.
      assert.match(pullRequest.log, /nodes from the node inventory recorded at \S+ \(\S+ ago\)/);
      assert.doesNotMatch(pullRequest.log, /recorded before the rotation's last step/);
      assert.doesNotMatch(
        pullRequest.log + pullRequest.summary,
        /PRIVATE KEY-----\n\+?[A-Za-z0-9+/=]{32}/,
      );

      // The merge: rotate up to stopAfter.
      await git(workspace, "add", "-A");
      await git(workspace, "commit", "-q", "-m", `ca rotation: stopAfter ${phase}`);
      const merge = await job("rotate", "push");
      assert.equal(merge.code, 0, merge.log);
      assert.doesNotMatch(merge.log, /::error/);
      assert.match(merge.summary, new RegExp(phase));
      assert.match(merge.log, /recorded the node inventory \(\d+ files on \d+ nodes/);
      // The merge brought both kubeconfig secrets along: to the bundle after trust, to the new
      // CA alone after finalize (the switch leaves them on the bundle: nothing to set).
      const before = { ...secrets };
      await takeSetSecrets();
      const changed = ["CA_ROTATOR_KUBECONFIG", "CA_ROTATOR_READONLY_KUBECONFIG"]
        .filter((name) => secrets[name] !== before[name]);
      assert.deepEqual(
        changed,
        phase === "switch" ? [] : [
          "CA_ROTATOR_KUBECONFIG",
          "CA_ROTATOR_READONLY_KUBECONFIG",
        ],
        merge.log,
      );
      const caCount = (kubeconfig: string) =>
        (atob(
          (parse(kubeconfig) as { clusters: { cluster: Record<string, string> }[] })
            .clusters[0].cluster["certificate-authority-data"],
        ).match(/BEGIN CERTIFICATE/g) ?? []).length;
      assert.equal(caCount(secrets.CA_ROTATOR_KUBECONFIG), phase === "finalize" ? 1 : 2);
    }

    const status = await cluster.kubectlJson<{ data: Record<string, string> }>([
      "get",
      "configmap",
      "-n",
      "kube-system",
      "ca-rotator-prod",
    ]);
    const steps = JSON.parse(status.data.steps) as Record<string, { status: string }>;
    assert.ok(
      Object.values(steps).every((step) => step.status === "done"),
      JSON.stringify(steps),
    );

    // The GitLab jobs on the finished rotation: a dry run with nothing left, a no-op rotate.
    const gitlab = await pipelineFromDocs(".gitlab-ci.yml");
    const kubeconfigFile = join(workspace, ".kubeconfig");
    await Deno.writeTextFile(kubeconfigFile, await tokenKubeconfig(cluster, token));
    const readOnlyFile = join(workspace, ".readonly-kubeconfig");
    await Deno.writeTextFile(readOnlyFile, await tokenKubeconfig(cluster, readOnlyToken));
    const gitlabEnv = {
      ...env,
      CA_ROTATOR_KUBECONFIG: kubeconfigFile,
      CA_ROTATOR_READONLY_KUBECONFIG: readOnlyFile,
    };
    for (const name of ["dry-run", "rotate"]) {
      const run = await runGitlabJob(gitlab, name, { workspace, env: gitlabEnv });
      console.log(`gitlab ${name}: exit ${run.code}, summary ${run.summary.length} bytes`);
      assert.equal(run.code, 0, run.log);
      assert.ok(run.summary.length > 0, "--summary wrote summary.md");
    }

    // The weekly expiry job on the rotated cluster: the CAs (ten years) are not due; the test
    // kubelets' client certificates live minutes, so the job fails and names each of them.
    const expiry = await runGithubJob(
      await pipelineFromDocs(".github/workflows/ca-expiry.yaml"),
      "expiry",
      { workspace, secrets: {}, env, event: "schedule" },
    );
    console.log(`schedule → expiry: exit ${expiry.code}`);
    assert.equal(expiry.code, 3, expiry.log);
    const annotations = expiry.log.split("\n").filter((line) => line.startsWith("::error"));
    const nodes = [...cluster.nodes, ...cluster.workers].map((node) => node.name);
    assert.equal(annotations.length, nodes.length, annotations.join("\n"));
    for (const node of nodes) {
      assert.ok(
        annotations.some((line) =>
          line.includes(
            `::${node}:/var/lib/kubelet/pki/kubelet-client-current.pem (kubelet-client)`,
          )
        ),
        `${node} named:\n${annotations.join("\n")}`,
      );
    }
    assert.match(
      expiry.log,
      /control-plane-1\tca\t\/etc\/kubernetes\/pki\/ca\.crt\t\S+\t9y\tself-signed/,
    );
    assert.match(expiry.log, /\tleaf\t\/etc\/kubernetes\/pki\/apiserver\.crt\t\S+\t\d+d\tca\n/);
  } finally {
    await Deno.remove(emptyHome, { recursive: true });
    await Deno.remove(ghSecrets, { recursive: true });
    await Deno.remove(workspace, { recursive: true });
    await cluster.stop();
  }
});
