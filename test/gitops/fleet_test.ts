/**
 * docs/ci.md's fleet pipelines (waves over many clusters), run as their CI systems would over
 * three test control planes, each a cluster of the fleet with its own plan and state: a canary
 * that fails stops every later wave and leaves the other clusters as they were (the negative
 * control); with the canary's secret fixed, the canary and then a wave of two reach the end of
 * their phase. Then GitLab's stages and matrix over the same clusters, a failing canary again
 * stopping the wave.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { startCluster, type TestCluster } from "../cluster/harness.ts";
import {
  git,
  type JobRun,
  pipelineAdminToken,
  pipelineFromDocs,
  runGithubWaves,
  runGitlabWaves,
  tokenKubeconfig,
} from "./pipeline.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** The fleet of docs/ci.md's workflows, wave by wave. */
const CANARY = "staging";
const WAVE_1 = ["prod-eu-1", "prod-us-1"];
const FLEET = [CANARY, ...WAVE_1];

/** plans/local-demo.yaml as the plan of fleet cluster `name`, its node roots written out. */
function fleetPlan(source: string, name: string, cluster: TestCluster): string {
  const list = (values: string[]) => `[${values.map((value) => JSON.stringify(value)).join(", ")}]`;
  return source
    .replace(/^ {2}name: local-demo$/m, `  name: ${name}`)
    .replace(/^stopAfter: .*$/m, "stopAfter: trust")
    .replace('"${NODE_ROOTS}"', list(cluster.nodeRoots))
    .replace('"${NODE_IPS}"', list(cluster.nodes.map((node) => node.ip)))
    .replace('"${WORKER_ROOTS:-}"', list(cluster.workerRoots));
}

/** The CA certificates in the cluster's kube-root-ca.crt. */
async function rootCaCount(cluster: TestCluster): Promise<number> {
  const configMap = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "configmap", "-n", "default", "kube-root-ca.crt"],
  );
  return (configMap.data["ca.crt"].match(/BEGIN CERTIFICATE/g) ?? []).length;
}

/** The steps of plan `name`'s progress in `cluster`, or undefined when it has none. */
async function progress(
  cluster: TestCluster,
  name: string,
): Promise<Record<string, { status: string }> | undefined> {
  const configMaps = await cluster.kubectlJson<
    { items: { metadata: { name: string }; data?: Record<string, string> }[] }
  >(["get", "configmaps", "-n", "kube-system"]);
  const record = configMaps.items.find((item) => item.metadata.name === `ca-rotator-${name}`);
  const others = configMaps.items.map((item) => item.metadata.name)
    .filter((each) => FLEET.some((other) => other !== name && each === `ca-rotator-${other}`));
  assert.deepEqual(others, [], `no other cluster's rotation state in ${name}`);
  return record?.data?.steps ? JSON.parse(record.data.steps) : undefined;
}

const started = Date.now();
/** Seconds since the test started, for its progress lines. */
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

function summary(outcome: Map<string, JobRun[] | "skipped">): string {
  return [...outcome].map(([job, runs]) =>
    runs === "skipped"
      ? `${job}: skipped`
      : runs.map((run) => `${run.job}: exit ${run.code}`).join("; ")
  ).join("\n");
}

function runsOf(outcome: Map<string, JobRun[] | "skipped">, job: string): JobRun[] {
  const runs = outcome.get(job);
  assert.ok(Array.isArray(runs), `${job} ran:\n${summary(outcome)}`);
  return runs;
}

Deno.test({
  name: "docs/ci.md's fleet pipelines rotate clusters in waves, and a failed canary stops them",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const clusters = await Promise.all(FLEET.map(() => startCluster({ apiServers: 1, nodes: 1 })));
  const clusterOf = Object.fromEntries(FLEET.map((name, index) => [name, clusters[index]]));
  const workspace = await Deno.makeTempDir({ prefix: "fleet-plans-" });
  const ghSecrets = await Deno.makeTempDir({ prefix: "gh-secrets-" });
  try {
    const environments: Record<string, Record<string, string>> = {};
    for (const name of FLEET) {
      environments[name] = {
        CA_ROTATOR_KUBECONFIG: await tokenKubeconfig(
          clusterOf[name],
          await pipelineAdminToken(clusterOf[name]),
        ),
      };
    }
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    await Deno.mkdir(join(workspace, "plans/fleet"), { recursive: true });
    for (const name of FLEET) {
      await Deno.writeTextFile(
        join(workspace, `plans/fleet/${name}.yaml`),
        fleetPlan(source, name, clusterOf[name]),
      );
    }
    await git(workspace, "init", "-q", "-b", "main");
    await git(workspace, "add", "-A");
    await git(workspace, "commit", "-q", "-m", "ca rotation of the fleet: stopAfter trust");

    // `gh secret set NAME --env ENVIRONMENT` (value on stdin), stood in for: the value becomes
    // that environment's secret for the next run.
    await Deno.writeTextFile(
      join(ghSecrets, "gh"),
      `#!/usr/bin/env bash\nset -eu\n[ "$1 $2 $4" = "secret set --env" ] && [ -n "$GH_TOKEN" ]\n` +
        `cat > "${ghSecrets}/$5.$3.value"\n`,
      { mode: 0o755 },
    );
    const takeSetSecrets = async () => {
      const set: string[] = [];
      for await (const entry of Deno.readDir(ghSecrets)) {
        const match = /^(.+)\.([A-Z_]+)\.value$/.exec(entry.name);
        if (!match) continue;
        environments[match[1]][match[2]] = await Deno.readTextFile(join(ghSecrets, entry.name));
        await Deno.remove(join(ghSecrets, entry.name));
        set.push(`${match[1]}/${match[2]}`);
      }
      return set.sort();
    };
    const env = {
      HOME: Deno.env.get("HOME") ?? "/root",
      PATH: `${ghSecrets}:${Deno.env.get("PATH")}`,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
    };
    const github = await pipelineFromDocs(".github/workflows/ca-rotation-fleet.yaml");
    const secrets = { CA_ROTATOR_SECRETS_TOKEN: "a token that may write environments' secrets" };
    const rootCasBefore = await Promise.all(clusters.map(rootCaCount));
    assert.deepEqual(rootCasBefore, [1, 1, 1]);

    // The negative control: the canary's secret is stale (a token of a ServiceAccount since
    // deleted): the canary fails, no later wave starts, the other clusters are as they were.
    const canaryKubeconfig = environments[CANARY].CA_ROTATOR_KUBECONFIG;
    environments[CANARY].CA_ROTATOR_KUBECONFIG = canaryKubeconfig.replace(
      /"token":"[^"]+"/,
      '"token":"a-token-of-a-deleted-serviceaccount"',
    );
    const failed = await runGithubWaves(github, {
      workspace,
      secrets,
      environments,
      env,
      event: "push",
    });
    console.log(`[${elapsed()}] GitHub, stale canary secret:\n${summary(failed)}`);
    const [failedCanary] = runsOf(failed, "canary");
    assert.notEqual(failedCanary.code, 0, failedCanary.log);
    assert.match(failedCanary.log, /Unauthorized|401/);
    assert.equal(failed.get("wave-1"), "skipped", summary(failed));
    for (const name of WAVE_1) {
      assert.equal(await progress(clusterOf[name], name), undefined, `${name} untouched`);
    }
    assert.deepEqual(await Promise.all(clusters.map(rootCaCount)), [1, 1, 1]);

    // The canary's secret fixed, the workflow again: the canary, then the wave of two.
    environments[CANARY].CA_ROTATOR_KUBECONFIG = canaryKubeconfig;
    const waves = await runGithubWaves(github, {
      workspace,
      secrets,
      environments,
      env,
      event: "push",
    });
    console.log(`[${elapsed()}] GitHub:\n${summary(waves)}`);
    const canaryRuns = runsOf(waves, "canary");
    const waveRuns = runsOf(waves, "wave-1");
    assert.deepEqual(canaryRuns.map((run) => run.job), [`canary (${CANARY})`]);
    assert.deepEqual(waveRuns.map((run) => run.job), WAVE_1.map((name) => `wave-1 (${name})`));
    for (const run of [...canaryRuns, ...waveRuns]) {
      assert.equal(run.code, 0, `${run.job}:\n${run.log}`);
    }
    for (const name of FLEET) {
      const steps = await progress(clusterOf[name], name);
      assert.ok(steps, `${name} has its own rotation state`);
      const statuses = Object.values(steps).map((step) => step.status);
      assert.ok(statuses.length > 0 && statuses.every((status) => status === "done"), name);
    }
    // Every cluster trusts both CAs, and its environment's kubeconfig secret followed it.
    assert.deepEqual(await Promise.all(clusters.map(rootCaCount)), [2, 2, 2]);
    assert.deepEqual(
      await takeSetSecrets(),
      FLEET.map((name) => `${name}/CA_ROTATOR_KUBECONFIG`).sort(),
    );
    for (const name of FLEET) {
      const kubeconfig = parse(environments[name].CA_ROTATOR_KUBECONFIG) as {
        clusters: { cluster: Record<string, string> }[];
      };
      const ca = atob(kubeconfig.clusters[0].cluster["certificate-authority-data"]);
      assert.equal(ca.match(/BEGIN CERTIFICATE/g)?.length, 2, `${name}'s secret holds the bundle`);
    }

    // GitLab's stages over the same fleet (File variables scoped to each environment): a failing
    // canary stops the wave; then every cluster's job, each with nothing left before stopAfter.
    const gitlab = await pipelineFromDocs("ca-rotation-fleet.gitlab-ci.yml");
    const files: Record<string, Record<string, string>> = {};
    for (const name of FLEET) {
      const file = join(workspace, `.${name}.kubeconfig`);
      await Deno.writeTextFile(file, environments[name].CA_ROTATOR_KUBECONFIG);
      files[name] = { CA_ROTATOR_KUBECONFIG: file };
    }
    const stale = join(workspace, ".stale.kubeconfig");
    await Deno.writeTextFile(stale, canaryKubeconfig.replace(/"token":"[^"]+"/, '"token":"x"'));
    const gitlabFailed = await runGitlabWaves(gitlab, {
      workspace,
      env,
      environments: { ...files, [CANARY]: { CA_ROTATOR_KUBECONFIG: stale } },
    });
    console.log(`[${elapsed()}] GitLab, stale canary variable:\n${summary(gitlabFailed)}`);
    assert.notEqual(runsOf(gitlabFailed, "rotate-canary")[0].code, 0);
    assert.equal(gitlabFailed.get("rotate-wave-1"), "skipped", summary(gitlabFailed));

    const gitlabRuns = await runGitlabWaves(gitlab, { workspace, env, environments: files });
    console.log(`[${elapsed()}] GitLab:\n${summary(gitlabRuns)}`);
    const gitlabJobs = [
      ...runsOf(gitlabRuns, "rotate-canary"),
      ...runsOf(gitlabRuns, "rotate-wave-1"),
    ];
    assert.deepEqual(
      gitlabJobs.map((run) => run.job),
      [`rotate-canary (${CANARY})`, ...WAVE_1.map((name) => `rotate-wave-1 (${name})`)],
    );
    for (const run of gitlabJobs) {
      assert.equal(run.code, 0, `${run.job}:\n${run.log}`);
      assert.match(run.log, new RegExp(`plans/fleet/${run.job.replace(/.*\((.*)\)/, "$1")}`));
    }
  } finally {
    await Deno.remove(ghSecrets, { recursive: true });
    await Deno.remove(workspace, { recursive: true });
    await Promise.all(clusters.map((cluster) => cluster.stop()));
  }
});
