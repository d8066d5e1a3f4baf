/**
 * `update-kubeconfigs`: sets the `certificate-authority-data` of kubeconfig files (admin.conf,
 * controller-manager.conf, scheduler.conf, …) to the bundle or the new CA.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import { setKubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { sameCertificates, trustPem } from "./trust_sets.ts";
import { kubeconfigCaData } from "../formats/kubeconfig_file.ts";

type Step = StepOfKind<"update-kubeconfigs">;

/** A kubeconfig's path on a node: absolute, or relative to the layout's kubeconfig directory. */
export function kubeconfigPath(kubeconfigDir: string, file: string): string {
  return file.startsWith("/") ? file : `${kubeconfigDir}/${file}`;
}

/** The update-kubeconfigs step kind. */
export const updateKubeconfigs: StepKind<Step, DesiredFile[]> = {
  kind: "update-kubeconfigs",

  async observe(ctx, step) {
    const trusted = await trustPem(ctx, step.ca, step.caData);
    const nodes = step.on === "workers" ? ctx.workers : ctx.controlPlane;
    const files: DesiredFile[] = [];
    for (const node of nodes) {
      for (const file of step.files) {
        const path = kubeconfigPath(ctx.plan.layout.kubeconfigDir, file);
        const current = await node.readFile(path);
        if (current === undefined) {
          if (step.ifPresent.includes(file)) continue;
          throw new Error(`${node.name}: ${path} is missing`);
        }
        const [caData] = kubeconfigCaData(current, `${node.name}:${path}`);
        files.push({
          node: node.name,
          path,
          current,
          desired: await sameCertificates(caData, trusted)
            ? current
            : setKubeconfigCaData(current, trusted, `${node.name}:${path}`),
          mode: 0o600,
          sensitive: false,
          reason: `certificate-authority-data → ${step.caData === "new" ? "the new CA" : "bundle"}`,
        });
      }
    }
    return files;
  },

  diff: (files) => fileChanges(files),

  async apply(ctx, step, changes) {
    await applyFileChanges(step.on === "workers" ? ctx.workers : ctx.controlPlane, changes);
  },

  async verify(ctx, step) {
    const trusted = await trustPem(ctx, step.ca, step.caData);
    const nodes = step.on === "workers" ? ctx.workers : ctx.controlPlane;
    for (const node of nodes) {
      for (const file of step.files) {
        const path = kubeconfigPath(ctx.plan.layout.kubeconfigDir, file);
        const current = await node.readFile(path);
        if (current === undefined) continue;
        for (const caData of kubeconfigCaData(current, `${node.name}:${path}`)) {
          if (!(await sameCertificates(caData, trusted))) {
            throw new Error(`${node.name}: ${path} does not hold the expected CAs`);
          }
        }
      }
    }
  },
};
