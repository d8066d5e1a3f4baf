/**
 * Builds the node access of a plan's node groups through their drivers.
 * @module
 */
import type { NodeGroup } from "../plan/nodes.ts";
import { nodeNames } from "../plan/nodes.ts";
import type { Layout } from "../plan/layout.ts";
import { LocalNode } from "./local.ts";
import { SshNode } from "./ssh.ts";

/** The nodes of one group (none when the plan does not declare it). */
export function nodesOf(
  group: NodeGroup | undefined,
  layout: Layout,
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
      sudo: group.sudo,
      backupDir: layout.backupDir,
    })
  );
}
