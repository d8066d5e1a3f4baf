/**
 * `restart-static-pods`: restarts the static pods the plan lists in `staticPods.restart` (kube-vip
 * with `admin.conf`, …) after the files they mount changed, by marking each manifest with this
 * step's id, one pod on one node at a time: each back and healthy — its manifest's HTTP probe
 * answering, else its mirror pod `<name>-<node>` Running and Ready with the mark — before the
 * next. A manifest already marked by this step has been restarted by it: a resumed run leaves it,
 * and waits until it is back before it restarts the next.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { manifestAnnotation, setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import { stepBase } from "../plan/step_format.ts";
import { healthTimeoutSeconds } from "./_step_fields.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { probeUrl, rewriteManifestAndWait, waitHealthy } from "./_component_health.ts";
import { nodeNamed } from "./file_changes.ts";
import { manifestChanges, type ManifestEdit } from "./static_pod_files.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { restoreNodeFiles } from "./restore_node_files.ts";

/** `restart-static-pods` parameters: which pods is the plan's `staticPods.restart`. */
export const RestartStaticPodsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restart-static-pods"),
  /** Tuning: how long to wait for each pod to be back. */
  healthTimeoutSeconds,
});

type Step = z.infer<typeof RestartStaticPodsStep>;

interface MirrorPod extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** Pure: whether the mirror pod runs the manifest marked `mark` and is Ready. */
export function mirrorPodRestarted(pod: MirrorPod | undefined, mark: string): boolean {
  return pod?.metadata?.annotations?.[RESTARTED_BY] === mark &&
    pod.status?.phase === "Running" &&
    (pod.status.conditions ?? []).some((each) => each.type === "Ready" && each.status === "True");
}

type Pod = { readonly name: string; readonly namespace: string; readonly manifest: string };

/** Waits until the mirror pod `<name>-<node>` runs the manifest this step marked and is Ready. */
function waitMirrorPod(
  ctx: StepContext,
  node: NodeAccess,
  pod: Pod,
  timeoutMs: number,
): Promise<void> {
  const mirror = `${pod.name}-${node.name}`;
  return ctx.waitFor(
    `mirror pod ${pod.namespace}/${mirror} to run the restarted manifest and be Ready`,
    async () =>
      mirrorPodRestarted(
        await ctx.cluster.read<MirrorPod>({
          apiVersion: "v1",
          kind: "Pod",
          namespace: pod.namespace,
          name: mirror,
        }),
        ctx.stepId,
      ),
    timeoutMs,
  );
}

/**
 * Writes the marked manifest and waits until the pod is back: by its HTTP probe where the
 * manifest has one (down, then up), else by its mirror pod in the API.
 */
async function restartAndWait(
  ctx: StepContext,
  node: NodeAccess,
  pod: Pod,
  text: string,
  timeoutMs: number,
): Promise<void> {
  if (probeUrl(text)) {
    await rewriteManifestAndWait(ctx, node, pod.name, pod.manifest, text, timeoutMs);
    return;
  }
  await node.writeFile(pod.manifest, text, { mode: 0o600 });
  await waitMirrorPod(ctx, node, pod, timeoutMs);
  if (!ctx.dryRun) ctx.log.info(`${node.name}/${pod.name} restarted and Ready`);
}

/** Waits until a pod this step already restarted is back (a resumed run, before the next). */
async function waitBack(
  ctx: StepContext,
  node: NodeAccess,
  pod: Pod,
  timeoutMs: number,
): Promise<void> {
  const text = await node.readFile(pod.manifest);
  if (text === undefined) return;
  const url = probeUrl(text);
  if (url) await waitHealthy(ctx, node, pod.name, url, timeoutMs);
  else await waitMirrorPod(ctx, node, pod, timeoutMs);
}

/** The restart-static-pods step kind. */
export const restartStaticPods = defineStepKind<Step, ManifestEdit[]>({
  kind: "restart-static-pods",
  schema: RestartStaticPodsStep,
  // The manifests are restored with the rest of the node's files; the kubelet restarts a pod
  // whose manifest changed, so each reads its restored files.
  undo: { by: [restoreControlPlane, restoreNodeFiles] },
  drift: {
    none:
      "a restart is an event, not a state: a later restart or manifest rewrite replaces its mark, and a rewritten manifest restarts the pod anyway",
  },
  tuning: ["healthTimeoutSeconds"],

  async observe(ctx) {
    const nodes = [...ctx.controlPlane, ...ctx.workers];
    const edits: ManifestEdit[] = [];
    for (const pod of ctx.staticPods ?? []) {
      const node = nodeNamed(nodes, pod.node);
      const current = await node.readFile(pod.manifest);
      if (current === undefined) {
        throw new Error(`${node.name}: ${pod.manifest} (static pod ${pod.name}) is missing`);
      }
      edits.push({
        node: node.name,
        path: pod.manifest,
        component: pod.name,
        current,
        desired: manifestAnnotation(current, RESTARTED_BY) === ctx.stepId
          ? current
          : setManifestAnnotation(
            current,
            RESTARTED_BY,
            ctx.stepId,
            `${node.name}:${pod.manifest}`,
          ),
        mode: 0o600,
        reason: "read its kubeconfigs and PKI files again: it mounts them and reads them at start",
      });
    }
    return edits;
  },

  diff: (edits) => manifestChanges(edits),

  async apply(ctx, step, changes: readonly Change[]) {
    const nodes = [...ctx.controlPlane, ...ctx.workers];
    const timeoutMs = step.healthTimeoutSeconds * 1000;
    const changing = new Set(
      changes.flatMap((change) =>
        change.target.type === "file" ? [`${change.target.node}:${change.target.path}`] : []
      ),
    );
    if (changing.size === 0) return;
    // A resumed run: the pods this step already restarted are back before the next goes down.
    for (const pod of ctx.staticPods ?? []) {
      if (changing.has(`${pod.node}:${pod.manifest}`)) continue;
      await waitBack(ctx, nodeNamed(nodes, pod.node), pod, timeoutMs);
    }
    for (const change of changes) {
      if (change.target.type !== "file" || change.after === undefined) continue;
      const { node, path } = change.target;
      const pod = (ctx.staticPods ?? []).find((each) =>
        each.node === node && each.manifest === path
      );
      if (!pod) continue;
      await restartAndWait(ctx, nodeNamed(nodes, node), pod, change.after, timeoutMs);
    }
  },

  async verify() {
    // apply waited until every restarted pod was back.
  },
});
