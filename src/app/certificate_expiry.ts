/**
 * `expiry`: every CA and certificate on the plan's nodes with its expiry and issuer, read over the
 * nodes' drivers (nothing changed; no API server needed unless a node group is found from the
 * cluster, whose Nodes are then listed first).
 * @module
 */
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { contactServer } from "../kube/server_contact.ts";
import { hasGroupFromCluster, resolvePlanNodes } from "./cluster_nodes.ts";
import { SshConnections } from "../nodes/ssh_connections.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { PlanStep } from "../steps/kinds.ts";
import { type InventoryProblem, nodeInventory } from "./certificate_inventory.ts";
import { type ExpiryRow, expiryRows, type ExpiryThresholds } from "./expiry_report.ts";

/** The report of every node. */
export interface CertificateExpiry {
  readonly rows: readonly ExpiryRow[];
  readonly problems: readonly InventoryProblem[];
}

/**
 * Reads every node of `loaded`'s plan and reports its certificates' expiry; `kube` finds the
 * cluster (as kubectl does) when a node group is found from it.
 */
export async function certificateExpiry(
  loaded: LoadedPlan<PlanStep>,
  thresholds: ExpiryThresholds,
  now: Date = new Date(),
  kube: KubeConfigOptions = {},
): Promise<CertificateExpiry> {
  const plan = loaded.plan;
  let groups = plan.nodes;
  if (hasGroupFromCluster(groups)) {
    const config = loadKubeConfig(kube);
    await contactServer(config, kube);
    groups = await resolvePlanNodes(new KubeClusterApi(config), groups);
  }
  const connections = new SshConnections();
  try {
    const nodes: { node: NodeAccess; controlPlane: boolean }[] = [
      ...nodesOf(groups.controlPlane, plan.layout, connections).map((node) => ({
        node,
        controlPlane: true,
      })),
      ...nodesOf(groups.workers, plan.layout, connections).map((node) => ({
        node,
        controlPlane: false,
      })),
    ];
    const inventories = await mapBounded(
      nodes,
      NODE_PARALLELISM,
      async ({ node, controlPlane }) => {
        await node.connect?.();
        return await nodeInventory(node, plan.layout, controlPlane);
      },
    );
    const held = inventories.flatMap((inventory) => inventory.held);
    return {
      rows: await expiryRows(held, thresholds, now),
      problems: inventories.flatMap((inventory) => inventory.problems),
    };
  } finally {
    await connections.close();
  }
}
