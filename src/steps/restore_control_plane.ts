/**
 * `restore-control-plane` (rollback only): on each control-plane node the rotation wrote to
 * between `since` and `until`, one at a time, writes back what those files held before —
 * PKI files, kubeconfigs, manifests (component flags) — and removes those it created (bundles,
 * staged new CAs); then restarts the API server, the controller-manager and the scheduler there
 * (a restart mark on each manifest), each healthy before the next, after the API server is
 * healthy on every other node (never two down). A node whose manifests carry this rollback's mark
 * is done, so a rollback run again after an interruption picks up where it stopped. The kubelet's
 * own files are `restore-kubelets'`.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import { defineUndoKind } from "../engine/undo.ts";
import { setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import { stepBase } from "../plan/step_format.ts";
import { manifestPath } from "../plan/node_paths.ts";
import { applyFileChanges, type DesiredFile, fileChanges, nodeNamed } from "./file_changes.ts";
import { rewriteManifestAndWait, waitManifestHealthy } from "./_component_health.ts";
import { manifestChanges, type ManifestEdit } from "./static_pod_files.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { ETCD, handOffLeadership, leaderLastOrder, waitEtcdQuorum } from "./_etcd_quorum.ts";
import { isKubeletFile, restorations, undoFields } from "./_prior_files.ts";

/**
 * The components restarted on each node, in order: etcd first (the member back on the restored
 * trust, every member healthy with a leader before the next node), then the API server. etcd is
 * restarted only where its own files (its manifest, the etcd PKI directory) were restored; the
 * node whose member leads goes last.
 */
const COMPONENTS = [ETCD, "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** `restore-control-plane` fields. */
export const RestoreControlPlaneStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restore-control-plane"),
  ...undoFields,
  healthTimeoutSeconds: z.number().int().positive().default(180),
});

type Step = z.infer<typeof RestoreControlPlaneStep>;

interface Observed {
  readonly nodes: readonly string[];
  /** Files other than the components' manifests. */
  readonly files: readonly DesiredFile[];
  readonly manifests: readonly ManifestEdit[];
}

/** The restore-control-plane step kind. */
export const restoreControlPlane = defineUndoKind<Step, Observed>({
  kind: "restore-control-plane",
  schema: RestoreControlPlaneStep,
  undoId: "control-plane",
  scope: "phase",
  undo: { nothing: "it reverts a rotation's writes; a rollback is not rolled back" },

  async observe(ctx, step) {
    const files: DesiredFile[] = [];
    const manifests: ManifestEdit[] = [];
    const mark = `${ctx.stepId} ${step.until}`;
    const nodes: string[] = [];
    for (const node of ctx.controlPlane) {
      const restored = await restorations(
        node,
        ctx.layout,
        step,
        (path) => !isKubeletFile(ctx.layout, path),
      );
      if (restored.length === 0) continue;
      nodes.push(node.name);
      const etcdFiles = restored.some((file) =>
        file.path === manifestPath(ctx.layout, ETCD) ||
        file.path.startsWith(`${ctx.layout.pkiDir}/etcd/`)
      );
      for (const component of COMPONENTS) {
        if (component === ETCD && !etcdFiles) continue;
        const path = manifestPath(ctx.layout, component);
        const file = restored.find((each) => each.path === path);
        const current = file ? file.current : await node.readFile(path);
        const base = file ? file.desired : current;
        if (base === undefined) continue;
        manifests.push({
          node: node.name,
          path,
          component,
          current,
          // The mark makes the kubelet restart it even where the manifest itself is unchanged.
          desired: setManifestAnnotation(base, RESTARTED_BY, mark, `${node.name}:${path}`),
          mode: 0o600,
          reason: file ? "as it was before the rotation" : "restarted to read its restored files",
        });
      }
      const paths = new Set(manifests.map((edit) => edit.path));
      files.push(...restored.filter((file) => !paths.has(file.path)));
    }
    return { nodes, files, manifests };
  },

  diff: (observed) =>
    observed.nodes.flatMap((name) => [
      ...fileChanges(observed.files.filter((file) => file.node === name)),
      ...manifestChanges(observed.manifests.filter((edit) => edit.node === name)),
    ]),

  async apply(ctx, step, changes) {
    const timeoutMs = step.healthTimeoutSeconds * 1000;
    const apiserverPath = manifestPath(ctx.layout, "kube-apiserver");
    const etcdPath = manifestPath(ctx.layout, ETCD);
    const changedPath = (change: Change) =>
      change.target.type === "file" ? change.target.path : undefined;
    const manifests = new Set(COMPONENTS.map((component) => manifestPath(ctx.layout, component)));
    const isManifest = (change: Change) =>
      change.target.type === "file" && manifests.has(change.target.path);
    let nodes = [
      ...new Set(
        changes.flatMap((change) =>
          change.target.type === "file" || change.target.type === "component"
            ? [change.target.node]
            : []
        ),
      ),
    ];
    // The node whose etcd member leads goes last, its leadership handed to a member already
    // restarted: one leader change (as in static_pod_files.ts).
    const restartsEtcd = changes.some((change) =>
      isManifest(change) && changedPath(change) === etcdPath
    );
    if (restartsEtcd) {
      nodes = await leaderLastOrder(ctx, ctx.controlPlane, nodes);
    }
    const restarted: string[] = [];
    for (const name of nodes) {
      const node = nodeNamed(ctx.controlPlane, name);
      const ofNode = changes.filter((change) =>
        change.target.type !== "object" && change.target.type !== "workload" &&
        change.target.node === name
      );
      // Never two API servers down: the others are healthy before this one goes.
      for (const other of ctx.controlPlane) {
        if (other.name === name) continue;
        await waitManifestHealthy(ctx, other, "kube-apiserver", apiserverPath, timeoutMs);
      }
      // Never two etcd members down: all healthy with a leader before this one goes.
      if (ofNode.some((change) => isManifest(change) && changedPath(change) === etcdPath)) {
        await waitEtcdQuorum(ctx, ctx.controlPlane, etcdPath, timeoutMs);
      }
      await applyFileChanges(ctx.controlPlane, ofNode.filter((change) => !isManifest(change)));
      for (const change of ofNode.filter(isManifest)) {
        if (change.target.type !== "file" || change.after === undefined) continue;
        const component = COMPONENTS.find((each) =>
          manifestPath(ctx.layout, each) === (change.target as { path: string }).path
        )!;
        const self = component === ETCD
          ? await handOffLeadership(ctx, node, ctx.layout.pkiDir, restarted)
          : undefined;
        await rewriteManifestAndWait(
          ctx,
          node,
          component,
          change.target.path,
          change.after,
          timeoutMs,
        );
        if (self !== undefined) restarted.push(self);
        if (component === ETCD) await waitEtcdQuorum(ctx, ctx.controlPlane, etcdPath, timeoutMs);
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
