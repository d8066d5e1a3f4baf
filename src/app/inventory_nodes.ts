/**
 * The plan's nodes as the node inventory recorded them, for a read-only dry run; a file the plan
 * reads that the inventory lacks is an error that says how to record it.
 * @module
 */
import { InventoryNode } from "../engine/inventory_node.ts";
import type { NodeInventory } from "../state/node_inventory.ts";
import { inventoryConfigMapName } from "../state/node_inventory_configmap.ts";

/** The node `name` served from `inventory` (for the plan at `planPath`). */
export function inventoryNode(
  inventory: NodeInventory,
  planPath: string,
  name: string,
): InventoryNode {
  const files = new Map(
    Object.entries(inventory.nodes[name] ?? {}).map((
      [path, file],
    ) => [path, file?.content ?? null]),
  );
  return new InventoryNode(name, files, (node, path) =>
    new Error(
      `${node}:${path} is not in the node inventory recorded at ${inventory.recordedAt} by ` +
        `${inventory.recordedBy} (ConfigMap kube-system/${
          inventoryConfigMapName(inventory.plan)
        })` +
        `; run \`ca-rotator inventory --plan ${planPath}\` with node access`,
    ));
}
