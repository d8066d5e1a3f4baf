/**
 * Builds the node access of a plan's node groups through their drivers.
 * @module
 */
import type { NodeGroup } from "../plan/nodes.ts";
import { nodeNames } from "../plan/nodes.ts";
import type { Layout } from "../plan/layout.ts";
import { LocalNode } from "./local.ts";
import { SshNode } from "./ssh.ts";
import type { SshConnections } from "./ssh_connections.ts";

/**
 * The nodes of one group (none when the plan does not declare it); ssh nodes share the run's
 * multiplexed `connections` when given.
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
  return group.hosts.map((host) =>
    new SshNode({
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      identityFile: group.identityFile,
      knownHostsFile: group.knownHostsFile,
      sudo: group.sudo,
      backupDir: layout.backupDir,
      connections,
    })
  );
}
