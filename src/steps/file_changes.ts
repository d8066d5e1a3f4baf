/**
 * The shape most steps share: they compute, per node, what some files should contain; the diff
 * is the files whose content differs; apply writes them (keys 0600, backed up by the driver).
 * @module
 */
import type { Change, FileTarget } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";

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
 * Writes (or removes) the files of the changes that target files, in order; the consecutive
 * changes of one node go to it as one batch when its driver takes batches (one ssh round trip).
 * One node after another, not in parallel: when a node fails (a full disk), the nodes after it
 * are left untouched and the run stops there (test/rotation/ssh_rotation_e2e_test.ts).
 */
export async function applyFileChanges(
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
): Promise<void> {
  const files = changes.filter((change) => change.target.type === "file");
  for (let start = 0; start < files.length;) {
    const node = nodeNamed(nodes, (files[start].target as FileTarget).node);
    let end = start + 1;
    while (end < files.length && (files[end].target as FileTarget).node === node.name) end++;
    const batch = files.slice(start, end).map((change) => {
      const target = change.target as FileTarget;
      return {
        path: target.path,
        content: change.action === "delete" ? undefined : change.after ?? "",
        mode: target.mode,
      };
    });
    if (node.writeFiles && batch.length > 1) {
      await node.writeFiles(batch);
    } else {
      for (const file of batch) {
        if (file.content === undefined) await node.removeFile(file.path);
        else await node.writeFile(file.path, file.content, { mode: file.mode });
      }
    }
    start = end;
  }
}

/** The diff and apply of a step whose every change is a file on the control-plane nodes. */
export const controlPlaneFileChanges = {
  diff: (files: readonly DesiredFile[]): Change[] => fileChanges(files),
  apply: (ctx: StepContext, _step: unknown, changes: readonly Change[]): Promise<void> =>
    applyFileChanges(ctx.controlPlane, changes),
};
