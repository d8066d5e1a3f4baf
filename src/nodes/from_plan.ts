/**
 * Builds the node access of a plan's node groups through their drivers.
 * @module
 */
import type { NodeGroup, SshHost, SshNodes } from "../plan/nodes.ts";
import { nodeNames } from "../plan/nodes.ts";
import type { Layout } from "../plan/layout.ts";
import { LocalNode } from "./local.ts";
import { SshNode, type SshNodeOptions } from "./ssh.ts";
import type { SshConnections } from "./ssh_connections.ts";

/**
 * The nodes of one group (none when the plan does not declare it); ssh nodes share the run's
 * multiplexed `connections` when given, and take the group's `user` and `port` where a host
 * gives none. A group found from the cluster must have been resolved first (its `hosts` filled
 * in from the Node objects, src/app/cluster_nodes.ts).
 */
export function nodesOf(
  group: NodeGroup | undefined,
  layout: Layout,
  connections?: SshConnections,
): (LocalNode | SshNode)[] {
  if (!group) return [];
  const names = nodeNames(group);
  if (group.driver === "local") {
    return group.roots.map((root, index) =>
      new LocalNode({
        name: names[index],
        root,
        backupDir: layout.backupDir,
        address: group.addresses?.[index],
      })
    );
  }
  if (!group.hosts) {
    throw new Error(
      "Cannot reach a node group found from the cluster before it is resolved against its Nodes",
    );
  }
  return group.hosts.map((host) => new SshNode(sshNodeOptions(group, host, layout, connections)));
}

/** How one host of an ssh group is reached: its own user and port, else the group's. */
export function sshNodeOptions(
  group: SshNodes,
  host: SshHost,
  layout: Pick<Layout, "backupDir">,
  connections?: SshConnections,
): SshNodeOptions {
  return {
    name: host.name,
    address: host.address,
    port: host.port ?? group.port,
    user: host.user ?? group.user,
    identityFile: group.identityFile,
    knownHostsFile: group.knownHostsFile,
    sudo: group.sudo,
    backupDir: layout.backupDir,
    connections,
  };
}
