/**
 * What a refused run must leave as it was: every node file ca-rotator could touch (contents
 * and mode) and the API objects it owns — ConfigMaps, Secrets and Leases named `ca-rotator-*`,
 * `kube-public/cluster-info` and every namespace's `kube-root-ca.crt`.
 *
 * Left out are the files the test cluster changes by itself while it runs: etcd's data, logs,
 * the runners' state (`var/run`) and the kubelet's own certificate rotation
 * (`var/lib/kubelet/pki`, which the emulated kubelets renew every few minutes).
 * @module
 */
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { eventually, type TestCluster } from "../cluster/harness.ts";

const CHANGED_BY_THE_CLUSTER = [
  /^var\/lib\/etcd(\/|$)/,
  /^var\/log(\/|$)/,
  /^var\/run(\/|$)/,
  /^var\/lib\/kubelet\/pki(\/|$)/,
];

/** Node files (`<root>:<path>` → `<mode> <sha256>`) and owned objects (`<kind> ns/name` → data). */
export interface ClusterSnapshot {
  readonly files: Record<string, string>;
  readonly objects: Record<string, string>;
}

async function digest(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

async function nodeFiles(root: string, into: Record<string, string>): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (CHANGED_BY_THE_CLUSTER.some((pattern) => pattern.test(rel))) continue;
      const info = await Deno.lstat(path);
      if (info.isDirectory) {
        into[`${root}:${rel}/`] = (info.mode! & 0o7777).toString(8);
        await walk(path);
      } else if (info.isSymlink) {
        into[`${root}:${rel}`] = `link ${await Deno.readLink(path)}`;
      } else {
        into[`${root}:${rel}`] = `${(info.mode! & 0o7777).toString(8)} ${await digest(path)}`;
      }
    }
  };
  await walk(root);
}

interface Item {
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: unknown;
  spec?: unknown;
}

/** Takes the snapshot (one kubectl call for the objects). */
export async function snapshotCluster(cluster: TestCluster): Promise<ClusterSnapshot> {
  const files: Record<string, string> = {};
  for (const root of [...cluster.nodeRoots, ...cluster.workerRoots]) await nodeFiles(root, files);
  const { items } = await cluster.kubectlJson<{ items: Item[] }>([
    "get",
    "configmaps,secrets,leases.coordination.k8s.io",
    "--all-namespaces",
  ]);
  const objects: Record<string, string> = {};
  for (const item of items) {
    const { name, namespace, resourceVersion } = item.metadata;
    const owned = name.startsWith("ca-rotator-");
    if (!owned && name !== "kube-root-ca.crt" && name !== "cluster-info") continue;
    if (name === "cluster-info" && namespace !== "kube-public") continue;
    // Our own objects must not even be rewritten; the others must keep their CA data
    // (cluster-info: its kubeconfig; the bootstrap signer adds token signatures beside it).
    const data = item.data as Record<string, string> | undefined;
    objects[`${item.kind} ${namespace}/${name}`] = JSON.stringify(
      owned
        ? { resourceVersion, data, spec: item.spec }
        : name === "cluster-info"
        ? { kubeconfig: data?.kubeconfig }
        : { data },
    );
  }
  return { files, objects };
}

/**
 * The snapshot once the cluster has settled after start-up: the controller-manager has
 * published `kube-root-ca.crt` in every namespace.
 */
export async function settledSnapshot(cluster: TestCluster): Promise<ClusterSnapshot> {
  return await eventually("kube-root-ca.crt in every namespace", async () => {
    const { items } = await cluster.kubectlJson<{ items: Item[] }>(["get", "namespaces"]);
    const snapshot = await snapshotCluster(cluster);
    const published = items.every((namespace) =>
      `ConfigMap ${namespace.metadata.name}/kube-root-ca.crt` in snapshot.objects
    );
    return published && snapshot;
  });
}

/** The differences between two snapshots, one line each (empty when nothing changed). */
export function snapshotChanges(before: ClusterSnapshot, after: ClusterSnapshot): string[] {
  const changes: string[] = [];
  for (const part of ["files", "objects"] as const) {
    const keys = new Set([...Object.keys(before[part]), ...Object.keys(after[part])]);
    for (const key of [...keys].sort()) {
      const [was, is] = [before[part][key], after[part][key]];
      if (was === is) continue;
      changes.push(
        was === undefined ? `added ${key}` : is === undefined ? `removed ${key}` : `changed ${key}`,
      );
    }
  }
  return changes;
}
