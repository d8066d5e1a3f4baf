/**
 * The API objects `init` reads, as a before/after comparison sees them: ConfigMaps, Secrets,
 * APIServices, webhook configurations and EndpointSlices by their resourceVersion (any write
 * changes it), Nodes and Pods by their labels, annotations and spec (their status is the
 * kubelets' and kwok's to change while the cluster runs).
 * @module
 */
import type { TestCluster } from "../cluster/harness.ts";

interface Item {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: unknown;
    annotations?: unknown;
  };
  spec?: unknown;
}

/** `Kind namespace/name` → what a write would change. */
export type ObjectsSnapshot = Record<string, string>;

const BY_VERSION = [
  "configmaps",
  "secrets",
  "apiservices",
  "validatingwebhookconfigurations",
  "mutatingwebhookconfigurations",
  "endpointslices",
];

/** Takes the snapshot (two kubectl calls). */
export async function snapshotReadObjects(cluster: TestCluster): Promise<ObjectsSnapshot> {
  const snapshot: ObjectsSnapshot = {};
  const key = (item: Item) => `${item.kind} ${item.metadata.namespace ?? ""}/${item.metadata.name}`;
  const versioned = await cluster.kubectlJson<{ items: Item[] }>(
    ["get", BY_VERSION.join(","), "--all-namespaces"],
  );
  for (const item of versioned.items) snapshot[key(item)] = item.metadata.resourceVersion ?? "";
  const specs = await cluster.kubectlJson<{ items: Item[] }>(
    ["get", "nodes,pods", "--all-namespaces"],
  );
  for (const item of specs.items) {
    const { labels, annotations } = item.metadata;
    snapshot[key(item)] = JSON.stringify({ labels, annotations, spec: item.spec });
  }
  return snapshot;
}

/** The objects added, removed or changed between two snapshots, one line each. */
export function readObjectsChanges(before: ObjectsSnapshot, after: ObjectsSnapshot): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((key) => before[key] !== after[key]).map((key) =>
    before[key] === undefined
      ? `added ${key}`
      : after[key] === undefined
      ? `removed ${key}`
      : `changed ${key}`
  );
}
