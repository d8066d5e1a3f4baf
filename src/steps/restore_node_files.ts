/**
 * `restore-node-files` (an undo kind): on every node, writes back what each file written between
 * `since` and `until` held before, and removes those the rotation created — with no restart: it
 * reverts the files no component reads at start (a note, a copy kept for an operator). It runs
 * after the undo kinds that restart what they restore, so those see their own files first.
 * @module
 */
import { z } from "zod";
import type { StepContext } from "../engine/step.ts";
import { defineUndoKind } from "../engine/undo.ts";
import { stepBase } from "../plan/step_format.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { restorations, undoFields } from "./_prior_files.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";

/** `restore-node-files` fields. */
export const RestoreNodeFilesStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restore-node-files"),
  ...undoFields,
});

type Step = z.infer<typeof RestoreNodeFilesStep>;

/** Every file of every node written in the step's window, with what it held before. */
async function priorFiles(ctx: StepContext, step: Step): Promise<DesiredFile[]> {
  const perNode = await mapBounded(
    [...ctx.controlPlane, ...ctx.workers],
    NODE_PARALLELISM,
    (node) => restorations(node, ctx.layout, step, () => true),
  );
  return perNode.flat();
}

/** The restore-node-files undo kind. */
export const restoreNodeFiles = defineUndoKind<Step, DesiredFile[]>({
  kind: "restore-node-files",
  schema: RestoreNodeFilesStep,
  undoId: "node-files",
  scope: "phase",
  undo: { nothing: "it reverts a rotation's writes; a rollback is not rolled back" },

  observe: priorFiles,

  diff: (files) => fileChanges(files),

  async apply(ctx, _step, changes) {
    await applyFileChanges([...ctx.controlPlane, ...ctx.workers], changes);
  },

  async verify(ctx, step) {
    const left = fileChanges(await priorFiles(ctx, step));
    if (left.length > 0) {
      throw new Error(
        `not restored: ${
          left.map((change) =>
            change.target.type === "file" ? `${change.target.node}:${change.target.path}` : ""
          ).join(", ")
        }`,
      );
    }
  },
});
