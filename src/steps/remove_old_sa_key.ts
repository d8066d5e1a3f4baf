/**
 * `remove-old-sa-key`: once no manifest names them, deletes the staged service-account key pair
 * and the bundle of old and new public key from every control-plane node (the driver keeps a
 * backup of each): the old public key is then nowhere the API servers could read it again.
 * @module
 */
import { z } from "zod";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { defineStepKind } from "../engine/step.ts";
import { serviceAccountKeyPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { unreferencedRemovals } from "./_file_readers.ts";

/** `remove-old-sa-key` parameters: none besides the step's own. */
export const RemoveOldSaKeyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("remove-old-sa-key"),
});

type Step = z.infer<typeof RemoveOldSaKeyStep>;

/** The remove-old-sa-key step kind. */
export const removeOldSaKey = defineStepKind<Step, DesiredFile[]>({
  kind: "remove-old-sa-key",
  schema: RemoveOldSaKeyStep,
  undo: { nothing: "finalize only: a rollback is refused once finalize has begun" },
  drift: {
    reapply:
      "it deletes the staged pair and the bundle again, refusing while any manifest still names them",
  },
  phases: ["finalize"],

  async observe(ctx) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    const doomed = [paths.bundle, paths.newPub, paths.newKey];
    const perNode = await mapBounded(
      ctx.controlPlane,
      NODE_PARALLELISM,
      (node) =>
        unreferencedRemovals(node, ctx.layout, doomed, {
          secretPath: paths.newKey,
          reason: "the old service-account key is no longer verified",
          remedy: `point it at ${paths.key}/${paths.pub} (the new key since activate-sa-key) first`,
        }),
    );
    return perNode.flat();
  },

  ...controlPlaneFileChanges,

  async verify(ctx) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    for (const node of ctx.controlPlane) {
      for (const path of [paths.bundle, paths.newPub, paths.newKey]) {
        if ((await node.readFile(path)) !== undefined) {
          throw new Error(`${node.name}: ${path} still exists`);
        }
      }
    }
  },
});
