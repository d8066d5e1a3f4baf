/**
 * `restart-component`: restarts a component whose files changed under an unchanged manifest
 * (an activated CA, re-issued certificates, kubeconfigs) by marking its manifest with this
 * step's id, one node at a time, waiting until it is healthy before the next. A node already
 * marked by this step has been restarted by it: a resumed run does not restart it again.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import { manifestAnnotation, setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import { nodeNamed } from "./file_changes.ts";
import {
  applyManifestChanges,
  manifestChanges,
  type ManifestEdit,
  manifestPath,
} from "./static_pod_files.ts";

type Step = StepOfKind<"restart-component">;

/** The manifest annotation that records which step last restarted a component. */
export const RESTARTED_BY = "ca-rotator.dev/restarted-by";

/** The restart-component step kind. */
export const restartComponent: StepKind<Step, ManifestEdit[]> = {
  kind: "restart-component",

  async observe(ctx, step) {
    const path = manifestPath(ctx, step.component);
    const nodes = step.nodes === "all"
      ? ctx.controlPlane
      : step.nodes.map((name) => nodeNamed(ctx.controlPlane, name));
    const edits: ManifestEdit[] = [];
    for (const node of nodes) {
      const current = await node.readFile(path);
      if (current === undefined) throw new Error(`${node.name}: ${path} is missing`);
      edits.push({
        node: node.name,
        path,
        component: step.component,
        current,
        desired: manifestAnnotation(current, RESTARTED_BY) === ctx.stepId
          ? current
          : setManifestAnnotation(current, RESTARTED_BY, ctx.stepId, `${node.name}:${path}`),
        mode: 0o600,
      });
    }
    return edits;
  },

  diff: (edits) => manifestChanges(edits),

  async apply(ctx, step, changes) {
    await applyManifestChanges(ctx, ctx.controlPlane, changes, step.healthTimeoutSeconds);
  },

  async verify() {
    // apply waited until every restarted component was healthy again.
  },
};
