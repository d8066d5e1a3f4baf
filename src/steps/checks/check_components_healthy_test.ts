import assert from "node:assert/strict";
import type { CommandResult, NodeAccess } from "../../engine/node_access.ts";
import { LocalNodesCluster } from "../_test_cluster.ts";
import { runVerifyChecks, type VerifyOptions } from "./run_checks.ts";

/**
 * `node` whose curl probes answer 200 for the kube-apiserver's URL (port 6443) and fail for every
 * other component, each probe recorded in `probes`.
 */
function probedNode(node: NodeAccess, probes: string[]): NodeAccess {
  return new Proxy(node, {
    get(target, property) {
      if (property !== "run") {
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (command: readonly string[]): Promise<CommandResult> => {
        if (command[0] !== "curl") return target.run(command);
        const url = command[command.length - 1];
        probes.push(`${target.name} ${url}`);
        const code = url.includes(":6443/") ? "200" : "000";
        return Promise.resolve({ code: 0, stdout: code, stderr: "" });
      };
    },
  });
}

async function twoPolls(healthyProbes: Set<string> | undefined) {
  await using cluster = await LocalNodesCluster.create();
  const probes: string[] = [];
  const ctx = cluster.context({
    controlPlane: cluster.controlPlane.map((node) => probedNode(node, probes)),
  });
  const options: VerifyOptions = {
    expect: "trust",
    checks: ["components-healthy"],
    healthyProbes,
  };
  const poll = async () => {
    const before = probes.length;
    const report = await runVerifyChecks(ctx, options);
    return { probes: probes.slice(before), check: report.checks[0] };
  };
  const polls = [await poll(), await poll()];
  return { polls, nodes: cluster.controlPlane.length };
}

Deno.test("components-healthy: a component healthy earlier in the wait is not probed again", async () => {
  const { polls, nodes } = await twoPolls(new Set());
  const [first, second] = polls;
  const apiServers = (probes: string[]) => probes.filter((probe) => probe.includes(":6443/"));
  assert.equal(apiServers(first.probes).length, nodes, "the first poll probes every API server");
  assert.ok(first.probes.length > nodes, "and the other components");
  assert.deepEqual(apiServers(second.probes), [], "they answered 200: not probed again");
  assert.deepEqual(
    second.probes.toSorted(),
    first.probes.filter((probe) => !probe.includes(":6443/")).toSorted(),
    "the failing components are probed again",
  );
  assert.deepEqual(second.check.problems, first.check.problems, "and still named");
  assert.match(second.check.summary, new RegExp(`^${nodes} of ${first.probes.length} components`));
});

Deno.test("components-healthy: without the wait's record every poll probes every component", async () => {
  const { polls } = await twoPolls(undefined);
  assert.equal(polls[1].probes.length, polls[0].probes.length);
  assert.ok(polls[1].probes.some((probe) => probe.includes(":6443/")));
});
