/**
 * The `workloads-available` check: every Deployment and DaemonSet (and the plan's other
 * workload kinds) of the plan's namespaces is available.
 * @module
 */
import type { KubeObject } from "../../engine/cluster_api.ts";
import { compareText, selectedNamespaces } from "../_namespace_selection.ts";
import { WORKLOAD_API_VERSION, workloadAvailability } from "../_rollout_status.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

type Deletable = KubeObject & {
  metadata?: KubeObject["metadata"] & { deletionTimestamp?: unknown };
};

/** Lists the workloads of the plan's namespaces (those being deleted aside): are they available? */
export async function checkWorkloadsAvailable(facts: CheckFacts): Promise<CheckFindings> {
  const { ctx } = facts;
  const settings = ctx.workloads;
  const kinds = [...new Set(["Deployment", "DaemonSet", ...settings.kinds])];
  const namespaces = new Set(await selectedNamespaces(ctx.cluster, settings.namespaces));
  const problems: string[] = [];
  let count = 0;
  for (const kind of kinds) {
    await ctx.cluster.listEach<Deletable>(WORKLOAD_API_VERSION, kind, {}, (object) => {
      const namespace = object.metadata?.namespace ?? "";
      if (!namespaces.has(namespace) || object.metadata?.deletionTimestamp) return;
      count++;
      const availability = workloadAvailability(kind, object);
      if (!availability.available) {
        problems.push(`${kind}/${namespace}/${object.metadata?.name}: ${availability.message}`);
      }
    });
  }
  return {
    summary: `${count - problems.length} of ${plural(count, "workload")} available (${
      kinds.join(", ")
    } in ${plural(namespaces.size, "namespace")})`,
    problems: problems.sort(compareText),
    notes: [],
  };
}
