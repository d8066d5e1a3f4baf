/**
 * What `rotate` and `rollback` set up alike before they take the lock: the cluster API (in a dry
 * run, an overlay whose writes go to the API server's dry run) and the plan's nodes, every one
 * reached (over ssh: connected and sudo checked) before anything changes on any of them.
 * @module
 */
import type { ClusterApi } from "../engine/cluster_api.ts";
import { OverlayClusterApi } from "../engine/overlay_cluster.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import type { KubeConfigSource } from "../kube/kubeconfig.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import type { SshConnections } from "../nodes/ssh_connections.ts";
import type { Plan } from "../plan/schema.ts";

/** The live cluster API, and the one a run uses (the live one, or its dry-run overlay). */
export function runClusterApis(
  source: KubeConfigSource,
  dryRun: boolean,
): { live: KubeClusterApi; cluster: ClusterApi } {
  const live = new KubeClusterApi(() => source.current());
  const cluster = dryRun
    ? new OverlayClusterApi(
      live,
      new KubeClusterApi(() => source.current(), { serverDryRun: true }),
    )
    : live;
  return { live, cluster };
}

/** The plan's control-plane nodes and workers. */
export interface PlanNodes {
  readonly controlPlane: NodeAccess[];
  readonly workers: NodeAccess[];
}

/**
 * Connects every node of the plan, then runs `check` on them; on any failure the connections are
 * closed and the error is thrown.
 */
export async function connectPlanNodes(
  plan: Plan,
  connections: SshConnections,
  check?: (nodes: PlanNodes) => Promise<void>,
): Promise<PlanNodes> {
  const nodes: PlanNodes = {
    controlPlane: nodesOf(plan.nodes.controlPlane, plan.layout, connections),
    workers: nodesOf(plan.nodes.workers, plan.layout, connections),
  };
  try {
    await mapBounded(
      [...nodes.controlPlane, ...nodes.workers],
      NODE_PARALLELISM,
      (node) => node.connect?.() ?? Promise.resolve(),
    );
    await check?.(nodes);
  } catch (error) {
    await connections.close();
    throw error;
  }
  return nodes;
}
