/**
 * The node inventory in the cluster: ConfigMap `kube-system/ca-rotator-<plan>-nodes`, written by
 * a run with node access (`inventory`, and every `rotate` that changed nodes), read by a
 * read-only dry run.
 * @module
 */
import type { ClusterApi, KubeObject, ObjectRef } from "../engine/cluster_api.ts";
import { decodeInventory, encodeInventory, type NodeInventory } from "./node_inventory.ts";

/** The ConfigMap that holds the node inventory of the plan named `planName`. */
export function inventoryConfigMapName(planName: string): string {
  return `ca-rotator-${planName}-nodes`;
}

function ref(planName: string): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "kube-system",
    name: inventoryConfigMapName(planName),
  };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The plan's node inventory, or `undefined` when none was recorded. */
export async function readNodeInventory(
  cluster: ClusterApi,
  planName: string,
): Promise<NodeInventory | undefined> {
  const configMap = await cluster.read<ConfigMap>(ref(planName));
  if (!configMap) return undefined;
  return await decodeInventory(
    configMap,
    `ConfigMap kube-system/${inventoryConfigMapName(planName)}`,
  );
}

/** Writes the plan's node inventory (creates its ConfigMap, or replaces it as read). */
export async function writeNodeInventory(
  cluster: ClusterApi,
  inventory: NodeInventory,
): Promise<void> {
  const { data, binaryData } = await encodeInventory(inventory);
  const existing = await cluster.read<ConfigMap>(ref(inventory.plan));
  const object: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: inventoryConfigMapName(inventory.plan),
      namespace: "kube-system",
      labels: { "app.kubernetes.io/managed-by": "ca-rotator" },
      ...(existing?.metadata?.resourceVersion
        ? { resourceVersion: existing.metadata.resourceVersion }
        : {}),
    },
    data,
    binaryData,
  };
  if (existing) await cluster.replace(object);
  else await cluster.create(object);
}
