/**
 * The static-pod manifest of a component on each control-plane node, and the shared apply of
 * the steps that rewrite manifests: one node at a time, each restarted and healthy before the
 * next (never two API servers down at once).
 * @module
 */
import type { Change } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { rewriteManifestAndWait } from "./_component_health.ts";
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

/** Writes each changed manifest, one node at a time, waiting for the component each time. */
export async function applyManifestChanges(
  ctx: StepContext,
  nodes: readonly NodeAccess[],
  changes: readonly Change[],
  healthTimeoutSeconds: number,
): Promise<void> {
  for (const change of changes) {
    const target = change.target;
    if (target.type !== "file" || change.after === undefined) continue;
    const restart = changes.find((each) =>
      each.action === "restart" && each.target.type === "component" &&
      each.target.node === target.node
    );
    const component = restart?.target.type === "component" ? restart.target.component : "";
    await rewriteManifestAndWait(
      ctx,
      nodeNamed(nodes, target.node),
      component,
      target.path,
      change.after,
      healthTimeoutSeconds * 1000,
    );
  }
}
