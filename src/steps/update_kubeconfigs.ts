/**
 * `update-kubeconfigs`: sets the `certificate-authority-data` of kubeconfig files (admin.conf,
 * controller-manager.conf, scheduler.conf, …) to the bundle or the new CA.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { setKubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";
import { trustPem } from "./trust_sets.ts";
import { sameCertificates } from "../pki/mod.ts";
import { kubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { stepBase } from "../plan/step_format.ts";
import { NODE_GROUPS } from "../plan/nodes.ts";
import { ifPresentSubset } from "../plan/rules.ts";
import { fileName, trustSetField } from "./_step_fields.ts";
import { kubeconfigPath } from "../plan/node_paths.ts";
import { restoreKubelets } from "./restore_kubelets.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";

/**
 * `update-kubeconfigs` parameters: set `certificate-authority-data` of kubeconfig files
 * (relative to `layout.kubeconfigDir`, or absolute) to the bundle or the new CA.
 */
export const UpdateKubeconfigsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("update-kubeconfigs"),
  files: z.array(fileName).min(1, "must name at least one kubeconfig"),
  /** Files (of `files`) updated only on the nodes that have them (e.g. super-admin.conf). */
  ifPresent: z.array(fileName).default([]),
  on: z.enum(NODE_GROUPS).default("controlPlane"),
  caData: trustSetField,
  ca: z.literal("cluster", 'must be "cluster": kubeconfigs hold the cluster CA').default(
    "cluster",
  ),
});

type Step = z.infer<typeof UpdateKubeconfigsStep>;

/** The update-kubeconfigs step kind. */
export const updateKubeconfigs = defineStepKind<Step, DesiredFile[]>({
  kind: "update-kubeconfigs",
  schema: UpdateKubeconfigsStep,
  undo: { by: [restoreKubelets, restoreControlPlane] },
  drift: {
    reapply:
      "it writes certificate-authority-data only (kubeadm certs renew rewrites it from ca.crt); components read it at their next restart, which the plan's later steps make",
  },
  trustSetField: "caData",
  rules(step, plan) {
    const issues = ifPresentSubset(step.ifPresent, step.files, "this step's files");
    if (step.on === "workers" && !plan.nodes.workers) {
      issues.push({ path: ["on"], message: "the plan has no nodes.workers" });
    }
    return issues;
  },

  async observe(ctx, step) {
    const trusted = await trustPem(ctx, step.ca, step.caData);
    const nodes = step.on === "workers" ? ctx.workers : ctx.controlPlane;
    const perNode = await mapBounded(nodes, NODE_PARALLELISM, async (node) => {
      const files: DesiredFile[] = [];
      for (const file of step.files) {
        const path = kubeconfigPath(ctx.layout, file);
        const current = await node.readFile(path);
        if (current === undefined) {
          if (step.ifPresent.includes(file)) continue;
          throw new Error(`${node.name}: ${path} is missing`);
        }
        // Every cluster of the file, as verify checks them: one stale entry is work left to do.
        const held = kubeconfigCaData(current, `${node.name}:${path}`);
        const done = (await Promise.all(held.map((caData) => sameCertificates(caData, trusted))))
          .every(Boolean);
        files.push({
          node: node.name,
          path,
          current,
          desired: done ? current : setKubeconfigCaData(current, trusted, `${node.name}:${path}`),
          mode: 0o600,
          sensitive: false,
          reason: `certificate-authority-data → ${step.caData === "new" ? "the new CA" : "bundle"}`,
        });
      }
      return files;
    });
    return perNode.flat();
  },

  diff: (files) => fileChanges(files),

  async apply(ctx, step, changes) {
    await applyFileChanges(step.on === "workers" ? ctx.workers : ctx.controlPlane, changes);
  },

  async verify(ctx, step) {
    const trusted = await trustPem(ctx, step.ca, step.caData);
    const nodes = step.on === "workers" ? ctx.workers : ctx.controlPlane;
    await mapBounded(nodes, NODE_PARALLELISM, async (node) => {
      for (const file of step.files) {
        const path = kubeconfigPath(ctx.layout, file);
        const current = await node.readFile(path);
        if (current === undefined) continue;
        for (const caData of kubeconfigCaData(current, `${node.name}:${path}`)) {
          if (!(await sameCertificates(caData, trusted))) {
            throw new Error(`${node.name}: ${path} does not hold the expected CAs`);
          }
        }
      }
    });
  },
});
