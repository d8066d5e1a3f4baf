/**
 * `restore-kubelets` (rollback only): on every node, one at a time, writes back what the
 * kubelet's files (config, kubeconfig; on workers every file the rotation wrote, such as the
 * client-CA bundle) held before the writes between `since` and `until`, removes those the
 * rotation created, restarts the kubelet and waits until the node is Ready with its Lease renewed.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import { defineUndoKind } from "../engine/undo.ts";
import { stepBase } from "../plan/step_format.ts";
import { applyFileChanges, type DesiredFile, fileChanges, nodeNamed } from "./file_changes.ts";
import { kubeletBack, restartKubelet } from "./_kubelet_restart.ts";
import { isKubeletFile, restorations, undoFields } from "./_prior_files.ts";

/** `restore-kubelets` fields. */
export const RestoreKubeletsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restore-kubelets"),
  /**
   * With `resumed` (a rollback run again), every kubelet whose files the rotation wrote is
   * restarted, even those already restored (the run that restored them may have stopped before
   * the restart).
   */
  ...undoFields,
  healthTimeoutSeconds: z.number().int().positive().default(120),
});

type Step = z.infer<typeof RestoreKubeletsStep>;

interface Observed {
  readonly nodes: readonly string[];
  readonly files: readonly DesiredFile[];
  /** Restart these kubelets even where no file differs any more. */
  readonly restart: readonly string[];
}

/** The restore-kubelets step kind. */
export const restoreKubelets = defineUndoKind<Step, Observed>({
  kind: "restore-kubelets",
  schema: RestoreKubeletsStep,
  undoId: "kubelets",
  scope: "phase",
  undo: { nothing: "it reverts a rotation's writes; a rollback is not rolled back" },

  async observe(ctx, step) {
    const files: DesiredFile[] = [];
    for (const node of ctx.controlPlane) {
      files.push(
        ...await restorations(node, ctx.layout, step, (path) => isKubeletFile(ctx.layout, path)),
      );
    }
    for (const node of ctx.workers) {
      files.push(...await restorations(node, ctx.layout, step, () => true));
    }
    const touched = new Set(files.map((file) => file.node));
    return {
      nodes: [...ctx.controlPlane, ...ctx.workers].map((node) => node.name),
      files,
      restart: step.resumed ? [...touched] : [],
    };
  },

  diff(observed) {
    const changes: Change[] = [];
    for (const name of observed.nodes) {
      const files = fileChanges(observed.files.filter((file) => file.node === name));
      if (files.length === 0 && !observed.restart.includes(name)) continue;
      changes.push(...files, {
        action: "restart",
        target: { type: "component", node: name, component: "kubelet" },
        reason: "the kubelet reads its CAs at start",
      });
    }
    return changes;
  },

  async apply(ctx, step, changes) {
    const nodes = [...ctx.controlPlane, ...ctx.workers];
    const restarts = changes.flatMap((change) =>
      change.action === "restart" && change.target.type === "component" ? [change.target.node] : []
    );
    for (const name of restarts) {
      const node = nodeNamed(nodes, name);
      const restartedAt = Date.now() - 1000;
      await applyFileChanges(
        nodes,
        changes.filter((change) => change.target.type === "file" && change.target.node === name),
      );
      await restartKubelet(node, ctx.layout);
      await ctx.waitFor(
        `the kubelet of ${name} to be back (Ready, Lease renewed)`,
        () => kubeletBack(ctx, name, restartedAt),
        step.healthTimeoutSeconds * 1000,
      );
    }
  },

  async verify(ctx) {
    for (const node of [...ctx.controlPlane, ...ctx.workers]) {
      if (!(await kubeletBack(ctx, node.name, 0))) {
        throw new Error(`node ${node.name} is not Ready after its kubelet restart`);
      }
    }
  },
});
