/**
 * `activate-sa-key`: the staged service-account key pair becomes `sa.key`/`sa.pub` on every
 * control-plane node (the old ones backed up by the driver), where kubeadm keeps it, so that
 * kubeadm keeps working after the rotation. No process reads them at this moment: the flags point
 * at the staged key and the bundle until the finalize flag steps point them back at
 * `sa.key`/`sa.pub`, which removes the old public key from what the API servers verify with.
 * @module
 */
import { z } from "zod";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { defineStepKind } from "../engine/step.ts";
import { serviceAccountKeyPair } from "../pki/mod.ts";
import { serviceAccountKeyPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";

/** `activate-sa-key` parameters: none besides the step's own. */
export const ActivateSaKeyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("activate-sa-key"),
});

type Step = z.infer<typeof ActivateSaKeyStep>;

/** The activate-sa-key step kind. */
export const activateSaKey = defineStepKind<Step, DesiredFile[]>({
  kind: "activate-sa-key",
  schema: ActivateSaKeyStep,
  undo: { nothing: "finalize only: a rollback is refused once finalize has begun" },
  drift: {
    reapply: "it copies the staged pair over sa.key/sa.pub again, the same key every time",
    endedBy: ["remove-old-sa-key"],
  },
  phases: ["finalize"],

  async observe(ctx) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    const perNode = await mapBounded(ctx.controlPlane, NODE_PARALLELISM, async (node) => {
      const newKey = await node.readFile(paths.newKey);
      const newPub = await node.readFile(paths.newPub);
      if (newKey === undefined || newPub === undefined) {
        throw new Error(
          `${node.name}: ${paths.newKey} or ${paths.newPub} is missing: run distribute-sa-key first`,
        );
      }
      const pair = await serviceAccountKeyPair(newKey, `${node.name}:${paths.newKey}`);
      const files: DesiredFile[] = [
        {
          node: node.name,
          path: paths.key,
          current: await node.readFile(paths.key),
          desired: newKey,
          mode: 0o600,
          sensitive: true,
          reason: "the new service-account signing key, where kubeadm keeps it",
        },
        {
          node: node.name,
          path: paths.pub,
          current: await node.readFile(paths.pub),
          desired: pair.publicPem,
          reason: `its public key (kid ${pair.keyId}) alone`,
        },
      ];
      return files;
    });
    return perNode.flat();
  },

  ...controlPlaneFileChanges,

  async verify(ctx) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    for (const node of ctx.controlPlane) {
      const [key, staged] = [await node.readFile(paths.key), await node.readFile(paths.newKey)];
      if (key === undefined || key !== staged) {
        throw new Error(`${node.name}: ${paths.key} is not the staged new key`);
      }
    }
  },
});
