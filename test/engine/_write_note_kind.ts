/**
 * A throwaway step kind, written as a new kind would be: this one file, plus one entry in a
 * list of kinds. `write-note` writes a text file next to the PKI directory of every
 * control-plane node, and declares its undo (the file written back by `restore-node-files`). The
 * engine tests use it to prove that adding a kind — its rollback included — needs no other change.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../../src/engine/step.ts";
import { stepBase } from "../../src/plan/step_format.ts";
import { controlPlaneFileChanges, type DesiredFile } from "../../src/steps/file_changes.ts";
import { restoreNodeFiles } from "../../src/steps/restore_node_files.ts";

/** `write-note` parameters: the note's file name (in the layout's kubeconfig directory) and text. */
export const WriteNoteStep = z.strictObject({
  ...stepBase,
  kind: z.literal("write-note"),
  file: z.string().regex(/^[a-z0-9.-]+$/, "must be a plain file name"),
  text: z.string().min(1, "must not be empty"),
});

type Step = z.infer<typeof WriteNoteStep>;

/** The write-note step kind. */
export const writeNote = defineStepKind<Step, DesiredFile[]>({
  kind: "write-note",
  schema: WriteNoteStep,
  phases: ["trust"],
  // The note is a file no component reads: written back (here: removed) with no restart.
  undo: { by: [restoreNodeFiles] },
  // A note rewritten is a file written again: a drift from it is re-applied.
  drift: { reapply: "it writes a note no component reads" },

  async observe(ctx, step) {
    const path = `${ctx.layout.kubeconfigDir}/${step.file}`;
    return await Promise.all(ctx.controlPlane.map(async (node) => ({
      node: node.name,
      path,
      current: await node.readFile(path),
      desired: step.text + "\n",
      reason: "a note for the operator",
    })));
  },

  ...controlPlaneFileChanges,

  async verify(ctx, step) {
    const path = `${ctx.layout.kubeconfigDir}/${step.file}`;
    for (const node of ctx.controlPlane) {
      if ((await node.readFile(path)) !== step.text + "\n") {
        throw new Error(`${node.name}: ${path} does not hold the note`);
      }
    }
  },
});
