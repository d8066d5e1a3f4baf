/**
 * `restore-control-plane` (rollback only): on each control-plane node, one at a time, writes
 * back what the files the rotation wrote between `since` and `until` held before it — PKI files,
 * kubeconfigs, manifests (component flags) — and removes those it created (bundles, staged new
 * CAs); then restarts the API server, the controller-manager and the scheduler there, each
 * healthy before the next, after the API server is healthy on every other node (never two down).
 * The kubelet's own files are `restore-kubelets`'.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import { defineStepKind } from "../engine/step.ts";
import { setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import { stepBase } from "../plan/step_format.ts";
import { manifestPath } from "../plan/node_paths.ts";
import {
  applyFileChanges,
  type DesiredFile,
  fileChanges,
  nodeNamed,
} from "../steps/file_changes.ts";
import { rewriteManifestAndWait, waitManifestHealthy } from "../steps/_component_health.ts";
import { RESTARTED_BY } from "../steps/restart_component.ts";
import { isKubeletFile, restorations, windowFields } from "./_prior_files.ts";

/** The components restarted on each node, in order. */
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** `restore-control-plane` fields. */
export const RestoreControlPlaneStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restore-control-plane"),
  ...windowFields,
  healthTimeoutSeconds: z.number().int().positive().default(180),
});

type Step = z.infer<typeof RestoreControlPlaneStep>;

interface Observed {
  readonly nodes: readonly string[];
  readonly files: readonly DesiredFile[];
}

/** The restore-control-plane step kind. */
export const restoreControlPlane = defineStepKind<Step, Observed>({
  kind: "restore-control-plane",
  schema: RestoreControlPlaneStep,

  async observe(ctx, step) {
    const files: DesiredFile[] = [];
    for (const node of ctx.controlPlane) {
      files.push(
        ...await restorations(node, ctx.layout, step, (path) => !isKubeletFile(ctx.layout, path)),
      );
    }
    return { nodes: ctx.controlPlane.map((node) => node.name), files };
  },

  diff(observed) {
    const changes: Change[] = [];
    for (const name of observed.nodes) {
      const files = fileChanges(observed.files.filter((file) => file.node === name));
      if (files.length === 0) continue;
      changes.push(
        ...files,
        ...COMPONENTS.map((component) => ({
          action: "restart" as const,
          target: { type: "component" as const, node: name, component },
          reason: "it reads its flags, certificates and kubeconfig at start",
        })),
      );
    }
    return changes;
  },

  async apply(ctx, step, changes) {
    const timeoutMs = step.healthTimeoutSeconds * 1000;
    const apiserverPath = manifestPath(ctx.layout, "kube-apiserver");
    const changed = [
      ...new Set(
        changes.flatMap((change) =>
          change.action === "restart" && change.target.type === "component"
            ? [change.target.node]
            : []
        ),
      ),
    ];
    for (const name of changed) {
      const node = nodeNamed(ctx.controlPlane, name);
      // Never two API servers down: the others are healthy before this one goes.
      for (const other of ctx.controlPlane) {
        if (other.name === name) continue;
        await waitManifestHealthy(ctx, other, "kube-apiserver", apiserverPath, timeoutMs);
      }
      const manifests = new Set(COMPONENTS.map((component) => manifestPath(ctx.layout, component)));
      const nodeFiles = changes.filter((change) =>
        change.target.type === "file" && change.target.node === name
      );
      await applyFileChanges(
        ctx.controlPlane,
        nodeFiles.filter((change) =>
          change.target.type === "file" && !manifests.has(change.target.path)
        ),
      );
      for (const component of COMPONENTS) {
        const path = manifestPath(ctx.layout, component);
        const restored = nodeFiles.find((change) =>
          change.target.type === "file" && change.target.path === path
        );
        const manifest = restored ? restored.after : await node.readFile(path);
        if (manifest === undefined) continue;
        // The mark makes the kubelet restart it even where the manifest itself is unchanged.
        const marked = setManifestAnnotation(
          manifest,
          RESTARTED_BY,
          `${ctx.stepId} ${step.until}`,
          `${name}:${path}`,
        );
        await rewriteManifestAndWait(ctx, node, component, path, marked, timeoutMs);
      }
    }
  },

  async verify(ctx, step) {
    for (const node of ctx.controlPlane) {
      await waitManifestHealthy(
        ctx,
        node,
        "kube-apiserver",
        manifestPath(ctx.layout, "kube-apiserver"),
        step.healthTimeoutSeconds * 1000,
      );
    }
  },
});
