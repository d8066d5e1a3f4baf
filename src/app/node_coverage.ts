/**
 * Every Node of the cluster is the plan's: in one of its node groups, or excluded by name or
 * label selector with a reason. A Node nobody listed (an autoscaled worker, a node joined during
 * the rotation, a forgotten line) would keep trusting the old CA only and be cut off at the
 * switch; so a run refuses to start while the cluster has one (bad input, nothing changed), and
 * a run that goes on into a later phase holds before it when one has appeared. Reads only.
 * @module
 */
import type { ClusterApi } from "../engine/cluster_api.ts";
import type { Phase } from "../plan/phase.ts";
import { nodeNames } from "../plan/nodes.ts";
import { excludedNodeNames, readClusterNodes } from "./cluster_nodes.ts";
import type { Plan } from "../plan/schema.ts";

/** A Node as the message names it. */
export interface ClusterNode {
  readonly name: string;
  /** Its InternalIP, where it has one. */
  readonly address?: string;
}

/** Pure: the cluster's Nodes that are neither planned nor excluded, by name. */
export function uncoveredNodes(
  cluster: readonly ClusterNode[],
  planned: readonly string[],
  excluded: ReadonlySet<string>,
): ClusterNode[] {
  const known = new Set(planned);
  return cluster.filter((node) => !known.has(node.name) && !excluded.has(node.name))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Pure: what to say of the uncovered Nodes. */
export function coverageMessage(uncovered: readonly ClusterNode[]): string {
  const named = uncovered.map((node) => `${node.name}${node.address ? ` (${node.address})` : ""}`);
  return `the cluster has ${uncovered.length === 1 ? "a Node" : "Nodes"} the plan does not ` +
    `cover: ${named.join(", ")} — add ${uncovered.length === 1 ? "it" : "each"} to ` +
    "nodes.workers (or nodes.controlPlane): list it, or let the group's fromCluster.selector " +
    "match it; or list it in nodes.exclude with the reason (its kubelet would keep trusting the " +
    "old CA only and be cut off at the switch)";
}

/**
 * The cluster's Nodes the plan does not cover (empty when it covers every one), from one list of
 * the Nodes; a group found from the cluster must have been resolved (src/app/cluster_nodes.ts).
 */
export async function nodesNotCovered(
  cluster: ClusterApi,
  nodes: Plan["nodes"],
): Promise<ClusterNode[]> {
  const found = await readClusterNodes(cluster);
  const planned = [
    ...nodeNames(nodes.controlPlane),
    ...(nodes.workers ? nodeNames(nodes.workers) : []),
  ];
  return uncoveredNodes(
    found.map((node) => ({
      name: node.name,
      address: node.addresses.find((each) => each.type === "InternalIP")?.address,
    })),
    planned,
    excludedNodeNames(nodes, found),
  );
}

/**
 * The runner's phase gate: before a later phase of the run begins, the reason to hold when a
 * Node the plan does not cover has appeared since the run started. `nodes` gives the plan's
 * nodes as of that phase start (groups found from the cluster resolved again).
 */
export function coverageGate(
  cluster: ClusterApi,
  nodes: () => Plan["nodes"],
): (phase: Phase) => Promise<string | undefined> {
  return async (phase) => {
    const uncovered = await nodesNotCovered(cluster, nodes());
    return uncovered.length === 0
      ? undefined
      : `holding before phase "${phase}": ${coverageMessage(uncovered)}; then run again`;
  };
}
