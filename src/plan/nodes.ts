/**
 * How ca-rotator reaches the nodes: a group of control-plane nodes and, optionally, workers,
 * each through one driver.
 * @module
 */
import { z } from "zod";
import { nodeName, nonEmpty, positiveInt } from "./fields.ts";
import { LabelSelectorError, parseLabelSelector } from "./label_selector.ts";

/**
 * Driver `local`: each node is a root directory on this machine (running on the node itself,
 * or the test cluster). Node names are the roots' base names unless `names` gives them.
 */
export const LocalNodesSchema = z.strictObject({
  driver: z.literal("local"),
  roots: z.array(nonEmpty),
  names: z.array(nodeName).optional(),
  /**
   * The address each node's processes see as 127.0.0.1, for nodes that share this machine
   * (the test cluster): probes of loopback URLs go there.
   */
  addresses: z.array(nonEmpty).optional(),
});

/** One host reached over ssh. */
export const SshHostSchema = z.strictObject({
  name: nodeName,
  address: nonEmpty,
  port: positiveInt.max(65535, "must be a port number").optional(),
  user: nonEmpty.optional(),
});

/** One listed ssh host. */
export type SshHost = z.infer<typeof SshHostSchema>;

/** A Kubernetes label selector (`kubectl get -l` syntax), checked where the plan is loaded. */
export const labelSelectorText = z.string().superRefine(checkSelector);

function checkSelector(text: string, ctx: z.RefinementCtx): void {
  try {
    parseLabelSelector(text);
  } catch (error) {
    if (!(error instanceof LabelSelectorError)) throw error;
    ctx.addIssue({ code: "custom", message: `not a label selector: ${error.message}` });
  }
}

/** The address types a Node reports in `status.addresses`. */
export const NODE_ADDRESS_TYPES = [
  "InternalIP",
  "ExternalIP",
  "InternalDNS",
  "ExternalDNS",
  "Hostname",
] as const;

/**
 * The Nodes of a group found from the cluster: the Node objects the selector matches, each named
 * by its Node name and reached at its first address of `addressType`. Resolved before the first
 * change and again at the start of every phase, so a Node that joins mid-rotation is found.
 */
export const FromClusterSchema = z.strictObject({
  selector: labelSelectorText,
  addressType: z.enum(NODE_ADDRESS_TYPES).default("InternalIP"),
});

/** How a group finds its Nodes in the cluster. */
export type FromCluster = z.infer<typeof FromClusterSchema>;

/**
 * Driver `ssh`: the system ssh client, optionally with an identity file, a known_hosts file that
 * pins the host keys (checked strictly), and sudo (without a password). The hosts are listed
 * (`hosts`) or found from the cluster's Node objects (`fromCluster`), exactly one of the two;
 * `user` and `port` are every host's default (a listed host's own wins).
 */
export const SshNodesSchema = z.strictObject({
  driver: z.literal("ssh"),
  hosts: z.array(SshHostSchema).optional(),
  fromCluster: FromClusterSchema.optional(),
  user: nonEmpty.optional(),
  port: positiveInt.max(65535, "must be a port number").optional(),
  identityFile: nonEmpty.optional(),
  knownHostsFile: nonEmpty.optional(),
  sudo: z.boolean().default(false),
});

/** An ssh group. */
export type SshNodes = z.infer<typeof SshNodesSchema>;

/** A group of nodes reached through one driver. */
export const NodeGroupSchema = z.discriminatedUnion("driver", [LocalNodesSchema, SshNodesSchema]);

/** A group of nodes. */
export type NodeGroup = z.infer<typeof NodeGroupSchema>;

/**
 * A Node of the cluster the rotation leaves alone, by name or by label selector, and why. Its
 * kubelet keeps what it trusts: after the switch it cannot verify the API servers' new serving
 * certificates, and after finalize the API servers no longer accept its client certificate.
 */
export const NodeExclusionSchema = z.union([
  z.strictObject({ name: nodeName, reason: nonEmpty }),
  z.strictObject({ selector: nonEmpty.superRefine(checkSelector), reason: nonEmpty }),
]);

/** A Node left alone. */
export type NodeExclusion = z.infer<typeof NodeExclusionSchema>;

/** The `nodes` section. */
export const NodesSchema = z.strictObject({
  controlPlane: NodeGroupSchema,
  workers: NodeGroupSchema.optional(),
  /**
   * The cluster's Nodes the plan leaves alone. Every other Node must be in a group: a run
   * refuses to start (and holds before each later phase) while the cluster has one that is not.
   */
  exclude: z.array(NodeExclusionSchema).default([]),
});

/** The node groups of a plan. */
export const NODE_GROUPS = ["controlPlane", "workers"] as const;

/**
 * The node names of a group, in order. A group found from the cluster has none until it is
 * resolved against the cluster's Nodes (src/app/cluster_nodes.ts), which lists them as `hosts`.
 */
export function nodeNames(group: NodeGroup): string[] {
  if (group.driver === "ssh") return (group.hosts ?? []).map((host) => host.name);
  return group.names ?? group.roots.map(baseName);
}

/** Whether the group's nodes are found from the cluster (its names are known only at run time). */
export function isFromCluster(group: NodeGroup | undefined): boolean {
  return group?.driver === "ssh" && group.fromCluster !== undefined;
}

function baseName(path: string): string {
  const parts = path.split("/").filter((part) => part !== "");
  return parts.at(-1) ?? path;
}
