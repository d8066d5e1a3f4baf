/**
 * What `nodes.exclude` costs, on the real control plane (one API server, two workers): the harm the
 * coverage check exists for. With worker-2 left out of plans/local-demo.yaml — excluded, as the
 * check demands — trust and the switch run, and worker-2, whose kubelet still trusts the old CA
 * only, goes NotReady once the API servers serve the new chain, while worker-1, which the plan
 * covers, stays Ready. (The refusal of a Node neither listed nor excluded, and the hold of one that
 * joins mid-run, are in test/engine/engine_cluster_test.ts and the bad-input corpus.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster, type TestCluster } from "../cluster/harness.ts";
import { runCaRotator } from "./ca_rotator_process.ts";
import { assertExit } from "./end_state.ts";

const repo = new URL("../../", import.meta.url).pathname;

interface NodeStatus {
  status: { conditions?: { type: string; status: string }[] };
}

async function ready(cluster: TestCluster, node: string): Promise<string | undefined> {
  const object = await cluster.kubectlJson<NodeStatus>(["get", "node", node]);
  return object.status.conditions?.find((condition) => condition.type === "Ready")?.status;
}

Deno.test({
  name: "an excluded Node keeps the old CA: NotReady after the switch, the covered one Ready",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const cluster = await startCluster({ apiServers: 1, nodes: 2 });
  try {
    const [covered, excluded] = cluster.workers.map((worker) => worker.name);
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-excluded-" });
    const plan = join(dir, "local-demo.yaml");
    const demo = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    const withExclusion = demo.replace(
      'roots: "${WORKER_ROOTS:-}"\n',
      `roots: "\${WORKER_ROOTS:-}"\n  exclude:\n    - { name: ${excluded}, reason: "the test's harm" }\n`,
    );
    assert.notEqual(withExclusion, demo, "the demo plan's workers line");
    // Only the covered worker's root is in the plan.
    const env = { ...cluster.env, WORKER_ROOTS: cluster.workerRoots[0] };
    assert.equal(await ready(cluster, excluded), "True");

    for (const phase of ["trust", "switch"]) {
      await Deno.writeTextFile(
        plan,
        withExclusion.replace(/^stopAfter: trust$/m, `stopAfter: ${phase}`),
      );
      const run = await runCaRotator(env, ["rotate", "--plan", plan]);
      if (phase === "trust") assertExit(run, 0, "trust with a Node excluded");
      // The switch's own checks may already see the excluded Node NotReady (exit 1): either
      // way the API servers serve the new chain once it has restarted them.
      else assert.ok(run.code === 0 || run.code === 1, `switch exited ${run.code}:\n${run.stderr}`);
    }
    await eventually(
      `${excluded} NotReady (its kubelet trusts the old CA only)`,
      async () => (await ready(cluster, excluded)) !== "True",
      240_000,
      2_000,
    );
    assert.equal(await ready(cluster, covered), "True", `${covered}, in the plan, stays Ready`);
    await Deno.remove(dir, { recursive: true });
  } finally {
    await cluster.stop();
  }
});
