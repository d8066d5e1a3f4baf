/**
 * The shape most steps share: they compute, per node, what some files should contain; the diff
 * is the files whose content differs; apply writes them (keys 0600, backed up by the driver).
 * @module
 */
import type { Change, FileTarget } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import type { FileWrite, NodeAccess, StagedFiles } from "../engine/node_access.ts";
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

/** One node's files of a step, in the order of its changes. */
interface NodeBatch {
  readonly node: NodeAccess;
  readonly files: FileWrite[];
}

/** Pure: the file changes as one batch per node, nodes in the order they first appear. */
function batchesByNode(nodes: readonly NodeAccess[], changes: readonly Change[]): NodeBatch[] {
  const batches = new Map<string, NodeBatch>();
  for (const change of changes) {
    if (change.target.type !== "file") continue;
    const target = change.target as FileTarget;
    let batch = batches.get(target.node);
    if (!batch) {
      batch = { node: nodeNamed(nodes, target.node), files: [] };
      batches.set(target.node, batch);
    }
    batch.files.push({
      path: target.path,
      content: change.action === "delete" ? undefined : change.after ?? "",
      mode: target.mode,
    });
  }
  return [...batches.values()];
}

/**
 * Writes (or removes) the files of the changes that target files, each node's in order.
 *
 * On several nodes whose drivers stage writes, in two stages, each across the nodes in parallel
 * (at most {@link NODE_PARALLELISM} at once): every node stages its files (backed up, written
 * beside their places); only when every node has staged them all are they put in place (renames,
 * which need no space). A node that cannot stage (a full disk) leaves every node's files as they
 * were (test/rotation/ssh_rotation_e2e_test.ts). Otherwise one node after another, stopping at
 * a failing node; a driver that takes batches gets each node's files in one round trip.
 */
export async function applyFileChanges(
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
): Promise<void> {
  const batches = batchesByNode(nodes, changes);
  if (batches.length > 1 && batches.every((batch) => batch.node.stageFiles)) {
    await writeInTwoStages(batches);
    return;
  }
  for (const batch of batches) await writeBatch(batch);
}

/** Writes one node's files: in one round trip where its driver takes batches. */
async function writeBatch({ node, files }: NodeBatch): Promise<void> {
  if (node.writeFiles && files.length > 1) {
    await node.writeFiles(files);
    return;
  }
  for (const file of files) {
    if (file.content === undefined) await node.removeFile(file.path);
    else await node.writeFile(file.path, file.content, { mode: file.mode });
  }
}

/**
 * Each node's files of the changes, ready to be put in place later, node by node: staged now on
 * every node whose driver stages (in parallel, a failed stage discarding the others), so a node
 * that cannot take them (a full disk) fails the step before any is in place; on the others they
 * are written when committed. The map is keyed by node name.
 */
export async function stageByNode(
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
): Promise<Map<string, StagedFiles>> {
  const batches = batchesByNode(nodes, changes);
  const staged: (StagedFiles | undefined)[] = [];
  try {
    await mapBounded(batches, NODE_PARALLELISM, async (batch, index) => {
      staged[index] = batch.node.stageFiles
        ? await batch.node.stageFiles(batch.files)
        : { commit: () => writeBatch(batch), discard: () => Promise.resolve() };
    });
  } catch (error) {
    await Promise.allSettled(staged.map((each) => each?.discard()));
    throw error;
  }
  return new Map(batches.map((batch, index) => [batch.node.name, staged[index]!]));
}

/** Stages every batch, then commits them all; a failed stage discards the others. */
async function writeInTwoStages(batches: readonly NodeBatch[]): Promise<void> {
  const staged: (StagedFiles | undefined)[] = [];
  try {
    await mapBounded(batches, NODE_PARALLELISM, async ({ node, files }, index) => {
      staged[index] = await node.stageFiles!(files);
    });
  } catch (error) {
    await Promise.allSettled(staged.map((each) => each?.discard()));
    throw error;
  }
  await mapBounded(staged, NODE_PARALLELISM, (each) => each!.commit());
}

/** The diff and apply of a step whose every change is a file on the control-plane nodes. */
export const controlPlaneFileChanges = {
  diff: (files: readonly DesiredFile[]): Change[] => fileChanges(files),
  apply: (ctx: StepContext, _step: unknown, changes: readonly Change[]): Promise<void> =>
    applyFileChanges(ctx.controlPlane, changes),
};
