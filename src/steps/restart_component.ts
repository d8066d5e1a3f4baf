/**
 * `restart-component`: restarts a component whose files changed under an unchanged manifest
 * (an activated CA, re-issued certificates, kubeconfigs) by marking its manifest with this
 * step's id, one node at a time, waiting until it is healthy before the next. A node already
 * marked by this step has been restarted by it: a resumed run does not restart it again, but
 * waits until the component is healthy there (and on every node it leaves alone) before it
 * restarts the next.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { manifestAnnotation, setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import { nodeNamed } from "./file_changes.ts";
import { applyManifestChanges, manifestChanges, type ManifestEdit } from "./static_pod_files.ts";
import { stepBase } from "../plan/step_format.ts";
import { componentField } from "../plan/component.ts";
import { nodeName } from "../plan/fields.ts";
import { isFromCluster, nodeNames } from "../plan/nodes.ts";
import { healthTimeoutSeconds } from "./_step_fields.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { manifestPath } from "../plan/node_paths.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";

/**
 * `restart-component` parameters: restart a component whose files changed under an unchanged
 * manifest (activated CA, re-issued certificates, kubeconfigs), one node at a time, waiting until
 * healthy.
 */
export const RestartComponentStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restart-component"),
  component: componentField,
  /** `all` control-plane nodes, or the named ones, in this order. */
  nodes: z.union([z.literal("all"), z.array(nodeName).min(1, "must name at least one node")], {
    error: 'must be "all" or a list of control-plane node names',
  }).default("all"),
  /** Tuning: how long to wait for the component to be healthy on each node. */
  healthTimeoutSeconds,
});

type Step = z.infer<typeof RestartComponentStep>;

/** The restart-component step kind. */
export const restartComponent = defineStepKind<Step, ManifestEdit[]>({
  kind: "restart-component",
  schema: RestartComponentStep,
  undo: { by: [restoreControlPlane] },
  drift: {
    none:
      "a restart is an event, not a state: later restarts and any manifest rewrite replace its mark, and a rewritten manifest restarts the component anyway",
  },
  tuning: ["healthTimeoutSeconds"],
  rules(step, plan) {
    // Names of a group found from the cluster are known only at run time (observe names them).
    if (step.nodes === "all" || isFromCluster(plan.nodes.controlPlane)) return [];
    const known = nodeNames(plan.nodes.controlPlane);
    return step.nodes.flatMap((name, index) =>
      known.includes(name) ? [] : [{
        path: ["nodes", index],
        message: `unknown control-plane node "${name}" (nodes: ${known.join(", ")})`,
      }]
    );
  },

  async observe(ctx, step) {
    const path = manifestPath(ctx.layout, step.component);
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
});
