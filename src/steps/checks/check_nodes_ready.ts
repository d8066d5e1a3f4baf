/**
 * The `nodes-ready` check: every Node reports the condition Ready=True.
 * @module
 */
import type { KubeObject } from "../../engine/cluster_api.ts";
import { compareText } from "../_namespace_selection.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

interface NodeObject extends KubeObject {
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

/** Lists the Nodes and reports those not Ready. */
export async function checkNodesReady(facts: CheckFacts): Promise<CheckFindings> {
  const nodes = await facts.ctx.cluster.list<NodeObject>("v1", "Node");
  const problems: string[] = [];
  for (const node of nodes) {
    const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
    if (ready?.status === "True") continue;
    problems.push(
      `${node.metadata?.name}: ${
        ready
          ? `Ready=${ready.status} (${ready.reason ?? ""}: ${ready.message ?? ""})`
          : "no Ready condition"
      }`,
    );
  }
  return {
    summary: `${nodes.length - problems.length} of ${plural(nodes.length, "node")} Ready`,
    problems: problems.sort(compareText),
    notes: [],
  };
}
