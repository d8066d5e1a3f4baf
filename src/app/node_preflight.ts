/**
 * Before a rotation changes anything: are the plan's nodes the cluster's? Every node the plan
 * names must have a Node object, and hold the CA files the rotation works on — a root that is
 * not a node, a name the cluster does not know or a missing `pki/ca.crt` is bad input, refused
 * while the cluster and the nodes are as they were. Reads only.
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import type { Layout } from "../plan/layout.ts";
import { caPaths } from "../plan/node_paths.ts";
import { InputError } from "../plan/input_error.ts";
import type { CaName } from "../plan/ca.ts";
import { LocalNode } from "../nodes/local.ts";

/** What was found of one planned node. */
export interface PlannedNodeFacts {
  readonly name: string;
  /** The plan's group: `nodes.controlPlane` or `nodes.workers`. */
  readonly group: string;
  /** Where the node is reached, for the message (a local root, an ssh host). */
  readonly where?: string;
  /** The node files the rotation needs that are not there. */
  readonly missingFiles: readonly string[];
  /** Why the node's files cannot be read at all (then `missingFiles` is not looked at). */
  readonly unreadable?: string;
}

/**
 * The problems of the planned nodes against the cluster's Node names, one line each (empty
 * when they match).
 */
export function nodeMismatches(
  planned: readonly PlannedNodeFacts[],
  clusterNodes: readonly string[],
): string[] {
  const known = new Set(clusterNodes);
  const problems: string[] = [];
  for (const node of planned) {
    const label = `node "${node.name}" (${node.group}${node.where ? `, ${node.where}` : ""})`;
    if (!known.has(node.name)) {
      problems.push(
        `${label}: the cluster has no Node named "${node.name}" (it has: ${
          [...known].sort().join(", ") || "none"
        })`,
      );
    }
    if (node.unreadable) {
      problems.push(`${label}: ${node.unreadable}`);
    } else if (node.missingFiles.length > 0) {
      problems.push(
        `${label}: ${node.missingFiles.join(", ")} ${
          node.missingFiles.length === 1 ? "is" : "are"
        } missing — is this the node's root?`,
      );
    }
  }
  return problems;
}

/** The nodes of a plan, by group, and what the rotation needs of them. */
export interface PlanNodes {
  readonly controlPlane: readonly NodeAccess[];
  readonly workers: readonly NodeAccess[];
  readonly layout: Pick<Layout, "pkiDir">;
  /** The CAs the plan rotates (their files must be on every control-plane node). */
  readonly cas: readonly CaName[];
}

/**
 * Checks the plan's nodes against the cluster (reads only).
 * @throws {InputError} listing every node that does not match.
 */
export async function checkPlanNodes(cluster: ClusterApi, nodes: PlanNodes): Promise<void> {
  const clusterCa = caPaths(nodes.layout, "cluster").cert;
  const controlPlaneFiles = [
    ...new Set([
      clusterCa,
      ...nodes.cas.flatMap((ca) => [caPaths(nodes.layout, ca).cert, caPaths(nodes.layout, ca).key]),
    ]),
  ];
  const facts = async (
    node: NodeAccess,
    group: string,
    files: readonly string[],
  ): Promise<PlannedNodeFacts> => {
    const where = node instanceof LocalNode ? `root ${node.root}` : undefined;
    if (node instanceof LocalNode && !(await isDirectory(node.root))) {
      return { name: node.name, group, where, missingFiles: [], unreadable: "no such directory" };
    }
    const missingFiles: string[] = [];
    for (const file of files) {
      if (await node.readFile(file) === undefined) missingFiles.push(file);
    }
    return { name: node.name, group, where, missingFiles };
  };
  const planned = await Promise.all([
    ...nodes.controlPlane.map((node) => facts(node, "nodes.controlPlane", controlPlaneFiles)),
    ...nodes.workers.map((node) => facts(node, "nodes.workers", [clusterCa])),
  ]);
  const clusterNodes = await cluster.list<KubeObject>("v1", "Node");
  const problems = nodeMismatches(planned, clusterNodes.map((node) => node.metadata?.name ?? ""));
  if (problems.length > 0) {
    throw new InputError(
      `The plan's nodes are not this cluster's (nothing was changed): ${problems.join("\n  ")}`,
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
