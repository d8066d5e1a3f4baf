import assert from "node:assert/strict";
import { parsePlan } from "./plan.ts";
import { type NodeFacts, resolveNodes } from "./cluster_nodes.ts";
import { nodeChanges } from "./phase_nodes.ts";
import { InputError } from "../plan/input_error.ts";
import { edit, minimalPlanText } from "../plan/_test_plans.ts";
import { sshNodeOptions } from "../nodes/from_plan.ts";

const CP = { "node-role.kubernetes.io/control-plane": "" };

function node(
  name: string,
  labels: Record<string, string> = {},
  internalIp: string | null = `10.0.1.${name.replace(/\D/g, "") || "9"}`,
): NodeFacts {
  const addresses = [{ type: "Hostname", address: name }];
  if (internalIp) addresses.unshift({ type: "InternalIP", address: internalIp });
  return { name, labels, addresses };
}

const CLUSTER: NodeFacts[] = [
  node("cp-1", CP),
  node("worker-2", { pool: "general" }),
  node("worker-1", { pool: "general" }),
];

/** The minimal plan with an ssh control plane listing cp-1 and `workers` as given. */
function plan(workers: string, exclude = "") {
  const text = edit(
    minimalPlanText(),
    "  controlPlane:\n    driver: local\n    roots: [/tmp/ca-rotator-test/cp-1]\n",
    "  controlPlane:\n    driver: ssh\n    hosts: [{ name: cp-1, address: 10.0.0.1 }]\n" +
      `  workers:\n    driver: ssh\n${workers}${exclude}`,
  );
  return parsePlan(text, "plans/test.yaml", {});
}

const SELECTED = "    user: ops\n    port: 2222\n    identityFile: /k\n    sudo: true\n" +
  '    fromCluster:\n      selector: "!node-role.kubernetes.io/control-plane"\n';

Deno.test("fromCluster: the Nodes the selector matches, by name, at their InternalIP", () => {
  const loaded = plan(SELECTED);
  const resolved = resolveNodes(loaded.plan.nodes, CLUSTER);
  const workers = resolved.workers!;
  assert.equal(workers.driver, "ssh");
  if (workers.driver !== "ssh") return;
  assert.deepEqual(workers.hosts, [
    { name: "worker-1", address: "10.0.1.1" },
    { name: "worker-2", address: "10.0.1.2" },
  ]);
  assert.deepEqual(resolved.controlPlane, loaded.plan.nodes.controlPlane, "listed: as it was");
  // The group's user, port, identity and sudo reach every host.
  assert.deepEqual(
    workers.hosts!.map((host) => sshNodeOptions(workers, host, loaded.plan.layout)),
    ["worker-1", "worker-2"].map((name, index) => ({
      name,
      address: `10.0.1.${index + 1}`,
      port: 2222,
      user: "ops",
      identityFile: "/k",
      knownHostsFile: undefined,
      sudo: true,
      backupDir: loaded.plan.layout.backupDir,
      connections: undefined,
    })),
  );
});

Deno.test("fromCluster: another address type, and Nodes the plan excludes left out", () => {
  const byHostname = plan(SELECTED + "      addressType: Hostname\n");
  const hosts = (nodes: ReturnType<typeof resolveNodes>) =>
    nodes.workers?.driver === "ssh" ? nodes.workers.hosts : undefined;
  assert.deepEqual(hosts(resolveNodes(byHostname.plan.nodes, CLUSTER)), [
    { name: "worker-1", address: "worker-1" },
    { name: "worker-2", address: "worker-2" },
  ]);
  const excluding = plan(SELECTED, '  exclude:\n    - { name: worker-2, reason: "by hand" }\n');
  assert.deepEqual(hosts(resolveNodes(excluding.plan.nodes, CLUSTER)), [
    { name: "worker-1", address: "10.0.1.1" },
  ]);
  const bySelector = plan(SELECTED, '  exclude:\n    - { selector: "pool=general", reason: r }\n');
  assert.deepEqual(hosts(resolveNodes(bySelector.plan.nodes, CLUSTER)), []);
});

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return error.message;
  }
  assert.fail("not refused");
}

Deno.test("fromCluster: a matched Node without an address of the type is bad input naming it", () => {
  const cluster = [...CLUSTER, node("worker-3", {}, null)];
  assert.equal(
    refusal(() => resolveNodes(plan(SELECTED).plan.nodes, cluster)),
    "The plan's node groups found from the cluster do not resolve (nothing was changed):\n  " +
      'Node "worker-3" (matched by nodes.workers.fromCluster.selector ' +
      '("!node-role.kubernetes.io/control-plane")) has no InternalIP address (it has: Hostname ' +
      "worker-3): set nodes.workers.fromCluster.addressType, or exclude it in nodes.exclude " +
      "with the reason",
  );
});

Deno.test("fromCluster: a Node matched and also listed, or matched by both groups, is named", () => {
  // The selector matches the listed control-plane node too.
  const everything = plan('    fromCluster:\n      selector: "kubernetes.io/os!=windows"\n');
  assert.match(
    refusal(() => resolveNodes(everything.plan.nodes, CLUSTER)),
    /Node "cp-1" is listed in nodes\.controlPlane and matched by nodes\.workers\.fromCluster\.selector \("kubernetes\.io\/os!=windows"\): a Node belongs to one group/,
  );
  const both = parsePlan(
    edit(
      minimalPlanText(),
      "  controlPlane:\n    driver: local\n    roots: [/tmp/ca-rotator-test/cp-1]\n",
      '  controlPlane:\n    driver: ssh\n    fromCluster: { selector: "pool in (general)" }\n' +
        '  workers:\n    driver: ssh\n    fromCluster: { selector: "pool" }\n',
    ),
    "plans/test.yaml",
    {},
  );
  const message = refusal(() => resolveNodes(both.plan.nodes, CLUSTER));
  for (const name of ["worker-1", "worker-2"]) {
    assert.match(
      message,
      new RegExp(
        `Node "${name}" is matched by nodes\\.controlPlane\\.fromCluster\\.selector ` +
          `\\("pool in \\(general\\)"\\) and matched by nodes\\.workers\\.fromCluster\\.selector`,
      ),
    );
  }
});

Deno.test("fromCluster: a control-plane selector that matches nothing is refused", () => {
  const loaded = parsePlan(
    edit(
      minimalPlanText(),
      "  controlPlane:\n    driver: local\n    roots: [/tmp/ca-rotator-test/cp-1]\n",
      '  controlPlane:\n    driver: ssh\n    fromCluster: { selector: "role=master" }\n',
    ),
    "plans/test.yaml",
    {},
  );
  assert.match(
    refusal(() => resolveNodes(loaded.plan.nodes, CLUSTER)),
    /nodes\.controlPlane\.fromCluster\.selector \("role=master"\) matches no Node of the cluster/,
  );
});

Deno.test("fromCluster: the plan's digest is the selector's, whatever Nodes the cluster has", () => {
  const loaded = plan(SELECTED);
  const before = loaded.digest;
  resolveNodes(loaded.plan.nodes, CLUSTER);
  resolveNodes(loaded.plan.nodes, [...CLUSTER, node("worker-4")]);
  assert.equal(plan(SELECTED).digest, before, "resolving changes nothing of the loaded plan");
  assert.notEqual(
    plan(SELECTED.replace("!node-role", "!node-role.example.com/x,!node-role")).digest,
    before,
    "another selector is another plan",
  );
  assert.notEqual(plan(SELECTED + "      addressType: ExternalIP\n").digest, before);
});

Deno.test("nodes at a phase start: the names that joined and those gone", () => {
  assert.deepEqual(nodeChanges(["a", "b"], ["b", "c"]), { joined: ["c"], gone: ["a"] });
  assert.deepEqual(nodeChanges(["a"], ["a"]), { joined: [], gone: [] });
});
