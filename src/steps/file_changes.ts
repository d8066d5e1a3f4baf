/**
 * The shape most steps share: they compute, per node, what some files should contain; the diff
 * is the files whose content differs; apply writes them (keys 0600, backed up by the driver).
 * @module
 */
import type { Change } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import type { FileWrite, NodeAccess } from "../engine/node_access.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";

/** What one file on one node should hold (`undefined`: it should not exist). */
export interface DesiredFile {
  readonly node: string;
  readonly path: string;
  readonly current: string | undefined;
  readonly desired: string | undefined;
  readonly mode?: number;
  readonly sensitive?: boolean;
  readonly reason?: string;
}

/** Pure: the changes that turn the current files into the desired ones. */
export function fileChanges(files: readonly DesiredFile[]): Change[] {
  return files.filter((file) => file.current !== file.desired).map((file) => ({
    action: file.current === undefined
      ? "create"
      : file.desired === undefined
      ? "delete"
      : "update",
    target: { type: "file", node: file.node, path: file.path, mode: file.mode },
    before: file.current,
    after: file.desired,
    sensitive: file.sensitive,
    reason: file.reason,
  }));
}

/** The node named `name`, or an error. */
export function nodeNamed(nodes: readonly NodeAccess[], name: string): NodeAccess {
  const node = nodes.find((each) => each.name === name);
  if (!node) throw new Error(`no node named "${name}"`);
  return node;
}

/**
 * Writes (or removes) the files of the changes that target files: each node's in order, as one
 * batch when its driver takes batches (one ssh round trip), and up to {@link NODE_PARALLELISM}
 * nodes at once — nodes are independent, and no step's written file takes effect across nodes
 * before the step's own restarts. When a node fails, the nodes already started finish and the
 * first failure (in the changes' node order) is thrown.
 */
export async function applyFileChanges(
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
): Promise<void> {
  const byNode = new Map<string, FileWrite[]>();
  for (const change of changes) {
    if (change.target.type !== "file") continue;
    const target = change.target;
    const writes = byNode.get(target.node) ?? [];
    writes.push({
      path: target.path,
      content: change.action === "delete" ? undefined : change.after ?? "",
      mode: target.mode,
    });
    byNode.set(target.node, writes);
  }
  await mapBounded([...byNode], NODE_PARALLELISM, async ([name, batch]) => {
    const node = nodeNamed(nodes, name);
    if (node.writeFiles && batch.length > 1) return await node.writeFiles(batch);
    for (const file of batch) {
      if (file.content === undefined) await node.removeFile(file.path);
      else await node.writeFile(file.path, file.content, { mode: file.mode });
    }
  });
}

/** The diff and apply of a step whose every change is a file on the control-plane nodes. */
export const controlPlaneFileChanges = {
  diff: (files: readonly DesiredFile[]): Change[] => fileChanges(files),
  apply: (ctx: StepContext, _step: unknown, changes: readonly Change[]): Promise<void> =>
    applyFileChanges(ctx.controlPlane, changes),
};
