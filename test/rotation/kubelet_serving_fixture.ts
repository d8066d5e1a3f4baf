/**
 * A cluster with kubelet serving certificates (`servingCertificates: true`) made ready for a
 * rotation: the kubelet-serving CSRs approved as a cluster's approver would (so the kubelets serve
 * with old-CA certificates), every node reached through the node proxy; and plans/local-demo.yaml
 * to finalize, with or without the serving-certificate gate.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, loadBalancedApiServers, type TestCluster } from "../cluster/harness.ts";
import type { ProbedNode } from "./kubelet_serving_probe.ts";

const repo = new URL("../../", import.meta.url).pathname;

interface NodeList {
  items: {
    metadata: { name: string };
    status?: {
      addresses?: { type: string; address: string }[];
      daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
    };
  }[];
}

/**
 * The test cluster the serving tests run on: kubelets with serverTLSBootstrap, API servers
 * ({@link loadBalancedApiServers}) behind the load balancer (admin.conf's server), so that
 * clients going through it do not see an API server's restart.
 */
export const SERVING_CLUSTER = {
  apiServers: loadBalancedApiServers(),
  nodes: 1,
  servingCertificates: true,
  signingDuration: "1h",
} as const;

/** Approves the first kubelet-serving CSR of every node, as a cluster's approver would. */
export async function approveFirstServingCsrs(cluster: TestCluster): Promise<void> {
  const names = [...cluster.nodes, ...cluster.workers].map((n) => n.name);
  const csrs = await eventually("a kubelet-serving CSR of every node", async () => {
    const out = await cluster.kubectl([
      "get",
      "csr",
      "-o",
      "jsonpath={range .items[?(@.spec.signerName=='kubernetes.io/kubelet-serving')]}" +
      "{.metadata.name}={.spec.username} {end}",
    ]);
    const pairs = out.trim().split(/\s+/).filter(Boolean).map((p) => p.split("="));
    const users = new Set(pairs.map(([, user]) => user));
    return names.every((n) => users.has(`system:node:${n}`)) ? pairs : undefined;
  }, 90_000);
  await cluster.kubectl(["certificate", "approve", ...csrs.map(([name]) => name)]);
}

/** Approves every node's first kubelet-serving CSR and waits until each node answers. */
export async function serveWithOldCa(cluster: TestCluster): Promise<ProbedNode[]> {
  const names = [...cluster.nodes, ...cluster.workers].map((n) => n.name);
  await approveFirstServingCsrs(cluster);
  return await eventually("every node's address and kubelet port", async () => {
    const list = await cluster.kubectlJson<NodeList>(["get", "nodes"]);
    const nodes = list.items.map((n) => ({
      name: n.metadata.name,
      address: n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "",
      port: n.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0,
    }));
    return nodes.length === names.length && nodes.every((n) => n.address && n.port === 10250)
      ? nodes
      : undefined;
  }, 60_000);
}

/** The gate as the test plan places it: after the kubelet client gate. */
export function gateStep(fields: string): string {
  return `  - id: kubelet-serving-gate
    phase: finalize
    kind: kubelet-serving-gate
${fields.trimEnd().split("\n").map((line) => `    ${line.trim()}`).join("\n")}

`;
}

/**
 * plans/local-demo.yaml to finalize, with `gate` (a step's text) after the client gate, named
 * `name` (a second rotation of the same cluster needs a name of its own: its progress record).
 */
export async function servingPlan(
  dir: string,
  gate: string | undefined,
  name = "local-demo",
): Promise<string> {
  const demo = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
  const anchor = "  - id: kubeconfigs-trust-new\n";
  assert.ok(demo.includes(anchor), "local-demo.yaml has kubeconfigs-trust-new");
  const plan = demo.replace(/^stopAfter: .*$/m, "stopAfter: finalize")
    .replace(/^ {2}name: local-demo$/m, `  name: ${name}`)
    .replace(anchor, (gate ?? "") + anchor);
  const path = join(dir, `${name}.yaml`);
  await Deno.writeTextFile(path, plan);
  return path;
}
