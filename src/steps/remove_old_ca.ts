/**
 * `remove-old-ca`: once nothing references them, deletes the bundle and the staged copies of a
 * CA from every node (the driver keeps a backup of each).
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { caPaths } from "./trust_sets.ts";

type Step = StepOfKind<"remove-old-ca">;

/** The remove-old-ca step kind. */
export const removeOldCa: StepKind<Step, DesiredFile[]> = {
  kind: "remove-old-ca",

  async observe(ctx, step) {
    const layout = ctx.plan.layout;
    const paths = caPaths(layout.pkiDir, step.ca);
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
              path: `${layout.manifestsDir}/${component}.yaml`,
              text: await node.readFile(`${layout.manifestsDir}/${component}.yaml`),
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
    const paths = caPaths(ctx.plan.layout.pkiDir, step.ca);
    for (const node of [...ctx.controlPlane, ...ctx.workers]) {
      if ((await node.readFile(paths.bundle)) !== undefined) {
        throw new Error(`${node.name}: ${paths.bundle} still exists`);
      }
    }
  },
};
