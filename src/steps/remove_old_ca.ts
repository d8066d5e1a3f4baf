/**
 * `remove-old-ca`: once nothing references them, deletes the bundle and the staged copies of a
 * CA from every node (the driver keeps a backup of each).
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { stepBase } from "../plan/step_format.ts";
import { caField } from "./_step_fields.ts";
import { caPaths, manifestPath } from "../plan/node_paths.ts";

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
  phases: ["finalize"],
  needsEarlier: ["activate-ca"],

  async observe(ctx, step) {
    const layout = ctx.layout;
    const paths = caPaths(layout, step.ca);
    const doomed = [paths.bundle, paths.newCert, paths.newKey];
    const files: DesiredFile[] = [];
    for (
      const [group, nodes] of [["control-plane", ctx.controlPlane], [
        "worker",
        ctx.workers,
      ]] as const
    ) {
      for (const node of nodes) {
        const readers = group === "control-plane"
          ? await Promise.all(["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map(
            async (component) => ({
              path: manifestPath(layout, component),
              text: await node.readFile(manifestPath(layout, component)),
            }),
          ))
          : [];
        readers.push({
          path: layout.kubeletConfig,
          text: await node.readFile(layout.kubeletConfig),
        });
        for (const path of doomed) {
          const current = await node.readFile(path);
          if (current === undefined) continue;
          const user = readers.find((reader) => reader.text?.includes(path));
          if (user) {
            throw new Error(
              `${node.name}: ${user.path} still references ${path}: ` +
                `point it at the new CA before removing the old one`,
            );
          }
          files.push({
            node: node.name,
            path,
            current,
            desired: undefined,
            sensitive: path === paths.newKey,
            reason: "the old CA is no longer trusted",
          });
        }
      }
    }
    return files;
  },

  diff: (files) => fileChanges(files),

  async apply(ctx, _step, changes) {
    await applyFileChanges([...ctx.controlPlane, ...ctx.workers], changes);
  },

  async verify(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    for (const node of [...ctx.controlPlane, ...ctx.workers]) {
      if ((await node.readFile(paths.bundle)) !== undefined) {
        throw new Error(`${node.name}: ${paths.bundle} still exists`);
      }
    }
  },
});
