/**
 * Node groups found from the cluster (`fromCluster`): the Node objects a group's label selector
 * matches become its hosts, named by Node name and reached at their first address of the group's
 * `addressType`, with the group's ssh user, port and identity. Resolved from one list of the
 * Nodes, before the first change and again at the start of every phase (src/app/phase_nodes.ts),
 * so a Node that joins mid-rotation is found. A Node no group may claim alone (matched by both
 * groups, or matched and listed), or one without an address of the type, is bad input naming it.
 * The plan's digest covers the selector, never the Nodes it found. Reads only.
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { InputError } from "../plan/input_error.ts";
import { matchesLabels, parseLabelSelector } from "../plan/label_selector.ts";
import { NODE_GROUPS, type NodeGroup, nodeNames } from "../plan/nodes.ts";
import type { Plan } from "../plan/schema.ts";

/** What a node group needs of a Node object. */
export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly { readonly type: string; readonly address: string }[];
}

/** The `nodes` section of a plan. */
export type PlanNodes = Plan["nodes"];

interface NodeObject extends KubeObject {
  status?: { addresses?: { type: string; address: string }[] };
}

/** Every Node of the cluster, as the groups see it (one list). */
export async function readClusterNodes(cluster: ClusterApi): Promise<NodeFacts[]> {
  return (await cluster.list<NodeObject>("v1", "Node")).map((node) => ({
    name: node.metadata?.name ?? "",
    labels: node.metadata?.labels ?? {},
    addresses: node.status?.addresses ?? [],
  }));
}

/** Whether any group of the plan is found from the cluster. */
export function hasGroupFromCluster(nodes: PlanNodes): boolean {
  return NODE_GROUPS.some((group) => {
    const each = nodes[group];
    return each?.driver === "ssh" && each.fromCluster !== undefined;
  });
}

/** The names of the Nodes the plan's exclusions match, among `cluster`. */
export function excludedNodeNames(
  nodes: PlanNodes,
  cluster: readonly NodeFacts[],
): Set<string> {
  const names = new Set<string>();
  for (const exclusion of nodes.exclude) {
    if ("name" in exclusion) {
      names.add(exclusion.name);
      continue;
    }
    const selector = parseLabelSelector(exclusion.selector);
    for (const node of cluster) if (matchesLabels(selector, node.labels)) names.add(node.name);
  }
  return names;
}

/**
 * Pure: the plan's `nodes` with each group found from the cluster given its `hosts` (in Node
 * name order; Nodes the plan excludes left out). Groups with listed hosts or local roots are
 * returned as they are.
 * @throws {InputError} naming every Node claimed twice, every Node without an address of the
 * group's type, and a control-plane selector that matches no Node.
 */
export function resolveNodes(nodes: PlanNodes, cluster: readonly NodeFacts[]): PlanNodes {
  const problems: string[] = [];
  const excluded = excludedNodeNames(nodes, cluster);
  const sorted = [...cluster].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  /** Who claims each Node name: the group and how. */
  const claims = new Map<string, string[]>();
  const claim = (name: string, by: string) => claims.set(name, [...claims.get(name) ?? [], by]);
  const resolved: Partial<Record<(typeof NODE_GROUPS)[number], NodeGroup>> = {};
  for (const groupName of NODE_GROUPS) {
    const group = nodes[groupName];
    if (!group) continue;
    if (group.driver !== "ssh" || !group.fromCluster) {
      const how = group.driver === "ssh" ? "listed in" : "a root of";
      for (const name of nodeNames(group)) claim(name, `${how} nodes.${groupName}`);
      resolved[groupName] = group;
      continue;
    }
    const { selector: text, addressType } = group.fromCluster;
    const selector = parseLabelSelector(text);
    const field = `nodes.${groupName}.fromCluster.selector ("${text}")`;
    const hosts: { name: string; address: string }[] = [];
    for (const node of sorted) {
      if (excluded.has(node.name) || !matchesLabels(selector, node.labels)) continue;
      claim(node.name, `matched by ${field}`);
      const address = node.addresses.find((each) => each.type === addressType)?.address;
      if (address === undefined) {
        const has = node.addresses.map((each) => `${each.type} ${each.address}`).join(", ");
        problems.push(
          `Node "${node.name}" (matched by ${field}) has no ${addressType} address ` +
            `(it has: ${has || "none"}): set nodes.${groupName}.fromCluster.addressType, or ` +
            "exclude it in nodes.exclude with the reason",
        );
        continue;
      }
      hosts.push({ name: node.name, address });
    }
    if (groupName === "controlPlane" && hosts.length === 0) {
      problems.push(`${field} matches no Node of the cluster: the control plane has at least one`);
    }
    resolved[groupName] = { ...group, hosts };
  }
  for (const [name, by] of [...claims].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    if (by.length > 1) {
      problems.push(
        `Node "${name}" is ${by.join(" and ")}: a Node belongs to one group — narrow the ` +
          "selector, or drop the listed host",
      );
    }
  }
  if (problems.length > 0) {
    throw new InputError(
      `The plan's node groups found from the cluster do not resolve (nothing was changed):\n  ${
        problems.join("\n  ")
      }`,
    );
  }
  return {
    ...nodes,
    controlPlane: resolved.controlPlane!,
    ...(resolved.workers ? { workers: resolved.workers } : {}),
  };
}

/**
 * The plan's `nodes` resolved against the cluster's Nodes as they are now (one list); without a
 * group found from the cluster, `nodes` as they are, nothing read.
 * @throws {InputError} as {@link resolveNodes}.
 */
export async function resolvePlanNodes(
  cluster: ClusterApi,
  nodes: PlanNodes,
): Promise<PlanNodes> {
  if (!hasGroupFromCluster(nodes)) return nodes;
  return resolveNodes(nodes, await readClusterNodes(cluster));
}
