/**
 * `reissue-kubelet-clients` (rollback only): once the controller-manager signs with the old CA
 * again, every kubelet whose client certificate the new CA issued (it rotated during the switch)
 * gets one of the old CA through the verifier's forced rotation (a new key and CSR, the kubelet
 * restarted) — while the API servers still accept both CAs, before the new CA leaves their
 * client-CA bundle and would cut it off.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import type { StepContext } from "../engine/step.ts";
import { defineUndoKind } from "../engine/undo.ts";
import { undoFields } from "./_prior_files.ts";
import { stepBase } from "../plan/step_format.ts";
import {
  caTrustFromPem,
  classifyIssuer,
  forceRotation,
  readNodeCertificate,
} from "../kubelet/mod.ts";
import { nodeNamed } from "./file_changes.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";

/** `reissue-kubelet-clients` fields. */
export const ReissueKubeletClientsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("reissue-kubelet-clients"),
  ...undoFields,
  /** How many times a node's forced rotation is tried before the step fails. */
  attempts: z.number().int().positive().default(5),
});

type Step = z.infer<typeof ReissueKubeletClientsStep>;

/**
 * The nodes whose kubelet client certificate the new cluster CA issued; none when the plan does
 * not rotate the cluster CA (an activated etcd CA signs no kubelet certificate).
 */
async function onNewCa(ctx: StepContext): Promise<string[]> {
  if (!("cluster" in ctx.cas.fingerprints())) return [];
  const trust = caTrustFromPem(ctx.cas.get("cluster").certPem);
  const nodes = [...ctx.controlPlane, ...ctx.workers];
  const onNew = await mapBounded(nodes, NODE_PARALLELISM, async (node) => {
    const found = await readNodeCertificate(node, ctx.layout);
    return found !== undefined && await classifyIssuer(found.cert, trust) === "new";
  });
  return nodes.filter((_, index) => onNew[index]).map((node) => node.name);
}

/** The reissue-kubelet-clients step kind. */
export const reissueKubeletClients = defineUndoKind<Step, string[]>({
  kind: "reissue-kubelet-clients",
  schema: ReissueKubeletClientsStep,
  undoId: "kubelet-clients",
  scope: "phase",
  undo: { nothing: "it reverts a rotation's writes; a rollback is not rolled back" },

  observe: (ctx) => onNewCa(ctx),

  diff: (nodes): Change[] =>
    nodes.map((node) => ({
      action: "restart",
      target: { type: "component", node, component: "kubelet" },
      reason: "its client certificate is of the new CA: a new one from the old CA, then a restart",
    })),

  async apply(ctx, step, changes) {
    if (ctx.dryRun) return;
    const nodes = [...ctx.controlPlane, ...ctx.workers];
    const trust = caTrustFromPem(ctx.cas.get("cluster").certPem);
    for (const change of changes) {
      if (change.target.type !== "component") continue;
      const node = nodeNamed(nodes, change.target.node);
      for (let attempt = 1;; attempt++) {
        await forceRotation({ cluster: ctx.cluster, node, paths: ctx.layout, printer: ctx.log });
        const found = await readNodeCertificate(node, ctx.layout);
        if (found && await classifyIssuer(found.cert, trust) !== "new") break;
        // A controller-manager that has not restarted yet may still hold the leadership.
        if (attempt >= step.attempts) {
          throw new Error(`${node.name}: the controller-manager still signs with the new CA`);
        }
        ctx.log.warn(`${node.name}: the new CA signed again (attempt ${attempt}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
    }
  },

  async verify(ctx) {
    const left = await onNewCa(ctx);
    if (left.length > 0) {
      throw new Error(`kubelets still on a new-CA client certificate: ${left.join(", ")}`);
    }
  },
});
