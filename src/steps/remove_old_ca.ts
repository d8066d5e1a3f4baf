/**
 * `remove-old-ca`: once nothing references them, deletes the bundle and the staged copies of a
 * CA from every node (the driver keeps a backup of each).
 * @module
 */
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { stepBase } from "../plan/step_format.ts";
import { caField } from "./_step_fields.ts";
import { caPaths } from "../plan/node_paths.ts";
import { unreferencedRemovals } from "./_file_readers.ts";

/** `remove-old-ca` parameters: delete the bundle and staging files once nothing references them. */
export const RemoveOldCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("remove-old-ca"),
  ca: caField,
});

type Step = z.infer<typeof RemoveOldCaStep>;

/** The remove-old-ca step kind. */
export const removeOldCa = defineStepKind<Step, DesiredFile[]>({
  kind: "remove-old-ca",
  schema: RemoveOldCaStep,
  undo: { nothing: "finalize only: a rollback is refused once finalize has begun" },
  drift: {
    reapply:
      "it deletes the bundle and staged copies again, refusing while any manifest or kubeconfig still names them",
  },
  phases: ["finalize"],
  needsEarlier: ["activate-ca"],

  async observe(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    const doomed = [paths.bundle, paths.newCert, paths.newKey];
    // Nodes are read in parallel (bounded); the files keep the nodes' order.
    const perNode = await mapBounded(
      [...ctx.controlPlane, ...ctx.workers],
      NODE_PARALLELISM,
      (node) =>
        unreferencedRemovals(node, ctx.layout, doomed, {
          secretPath: paths.newKey,
          reason: "the old CA is no longer trusted",
          remedy: "point it at the new CA before removing the old one",
        }),
    );
    return perNode.flat();
  },

  diff: (files) => fileChanges(files),

  async apply(ctx, _step, changes) {
    await applyFileChanges([...ctx.controlPlane, ...ctx.workers], changes);
  },

  async verify(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    await mapBounded([...ctx.controlPlane, ...ctx.workers], NODE_PARALLELISM, async (node) => {
      for (const path of [paths.bundle, paths.newCert, paths.newKey]) {
        if ((await node.readFile(path)) !== undefined) {
          throw new Error(`${node.name}: ${path} still exists`);
        }
      }
    });
  },
});
