/**
 * The static-pod manifest of a component on each control-plane node, and the shared apply of
 * the steps that rewrite manifests: the component healthy on the nodes left as they are, then one
 * node at a time, each restarted and healthy before the next (never two API servers down at once).
 * @module
 */
import type { Change } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { rewriteManifestAndWait, waitManifestHealthy } from "./_component_health.ts";
import { type DesiredFile, fileChanges, nodeNamed } from "./file_changes.ts";

/** A manifest to rewrite, and the restart it causes. */
export interface ManifestEdit extends DesiredFile {
  readonly component: string;
}

/** Pure: the file changes, each followed by the restart of the component on that node. */
export function manifestChanges(edits: readonly ManifestEdit[]): Change[] {
  return edits.flatMap((edit) => {
    const files = fileChanges([edit]);
    if (files.length === 0) return [];
    return [...files, {
      action: "restart" as const,
      target: { type: "component" as const, node: edit.node, component: edit.component },
      reason: "the kubelet restarts a static pod whose manifest changed",
    }];
  });
}

/**
 * Writes each changed manifest, one node at a time, waiting for the component each time. First,
 * before any write, it waits until the component is healthy on every node whose manifest it is
 * not about to change: a run resumed after a crash or a health timeout sees the node it last
 * wrote as done, and must not take the next one down while that one is still coming back (never
 * two API servers down at once). The component and its manifest are those of the changes.
 */
export async function applyManifestChanges(
  ctx: StepContext,
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
  healthTimeoutSeconds: number,
  /** Run on each restarted node while its component is down (see rewriteManifestAndWait). */
  whileDown?: (node: string) => Promise<void>,
): Promise<void> {
  const componentOn = (node: string) => {
    const restart = changes.find((each) =>
      each.action === "restart" && each.target.type === "component" && each.target.node === node
    );
    return restart?.target.type === "component" ? restart.target.component : "";
  };
  const writes = changes.flatMap((change) =>
    change.target.type === "file" && change.after !== undefined
      ? [{ node: change.target.node, path: change.target.path, manifest: change.after }]
      : []
  );
  if (writes.length === 0) return;
  const timeoutMs = healthTimeoutSeconds * 1000;

  const component = componentOn(writes[0].node);
  const changing = new Set(writes.map((write) => write.node));
  for (const node of nodes) {
    if (changing.has(node.name)) continue;
    await waitManifestHealthy(ctx, node, component, writes[0].path, timeoutMs);
  }

  for (const write of writes) {
    await rewriteManifestAndWait(
      ctx,
      nodeNamed(nodes, write.node),
      componentOn(write.node),
      write.path,
      write.manifest,
      timeoutMs,
      whileDown && (() => whileDown(write.node)),
    );
  }
}
