/**
 * Static pods besides the control-plane components that mount kubeconfigs or the PKI directory
 * (kube-vip with `admin.conf`, konnectivity): read from each node's manifest directory, as the
 * kubelet reads it, and judged by their `hostPath` volumes. They read those files at start, so a
 * rotation that changes the files must restart them (`restart-static-pods`) or the plan must
 * accept them (`staticPods`). Reads only.
 * @module
 */
import { posix } from "node:path";
import type { NodeAccess } from "../engine/node_access.ts";
import { staticPodVolumes } from "../formats/static_pod_manifest.ts";
import { COMPONENTS } from "../plan/component.ts";
import type { Layout } from "../plan/layout.ts";

/** The static pods the plan's own steps restart (the components) or never touch (etcd). */
export const CONTROL_PLANE_PODS: readonly string[] = [...COMPONENTS, "etcd"];

/** A static pod on a node that mounts kubeconfigs or the PKI directory. */
export interface StaticPodConsumer {
  /** The node it runs on. */
  readonly node: string;
  /** Its `metadata.name`. */
  readonly name: string;
  readonly namespace: string;
  /** Its manifest, as a path on the node. */
  readonly manifest: string;
  /** The hostPaths through which it reads kubeconfigs or the PKI directory. */
  readonly mounts: readonly string[];
}

function clean(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/**
 * Pure: the hostPaths among `hostPaths` that reach a kubeconfig or the PKI directory: a `.conf`
 * file of the kubeconfig directory or the kubelet's kubeconfig, anything in the PKI directory,
 * or a directory that holds either (`/etc/kubernetes`, `/etc`).
 */
export function nodeFileMounts(
  hostPaths: readonly string[],
  layout: Pick<Layout, "pkiDir" | "kubeconfigDir" | "kubeletKubeconfig">,
): string[] {
  const pki = clean(layout.pkiDir);
  const kubeconfigs = clean(layout.kubeconfigDir);
  const kubelet = clean(layout.kubeletKubeconfig);
  return hostPaths.filter((raw) => {
    if (!raw.startsWith("/")) return false;
    const path = clean(raw);
    return within(path, pki) || within(pki, path) || within(kubeconfigs, path) ||
      within(kubelet, path) ||
      (posix.dirname(path) === kubeconfigs && path.endsWith(".conf"));
  });
}

/**
 * The files of the node's manifest directory (one command; `$NODE_ROOT` is the root of a local
 * node, unset over ssh). Hidden files are ignored, as the kubelet ignores them.
 */
async function manifestFiles(node: NodeAccess, dir: string): Promise<string[]> {
  const result = await node.run([
    "sh",
    "-c",
    'd="${NODE_ROOT:-}$1"; [ -d "$d" ] || exit 0; cd "$d" || exit 1; ' +
    'for f in *; do [ -f "$f" ] && printf "%s\\n" "$f"; done; exit 0',
    "sh",
    dir,
  ]);
  if (result.code !== 0) {
    throw new Error(`${node.name}: cannot list ${dir}: ${result.stderr.trim() || result.code}`);
  }
  return result.stdout.split("\n").filter((name) => name !== "" && !name.startsWith("."))
    .map((name) => `${clean(dir)}/${name}`);
}

/**
 * Every static pod on the nodes, besides {@link CONTROL_PLANE_PODS}, that mounts kubeconfigs or
 * the PKI directory, by node then manifest. A manifest that is not a Pod is skipped (the kubelet
 * skips it too).
 */
export async function findStaticPodConsumers(
  nodes: readonly NodeAccess[],
  layout: Layout,
): Promise<StaticPodConsumer[]> {
  const found: StaticPodConsumer[] = [];
  for (const node of nodes) {
    for (const manifest of await manifestFiles(node, layout.manifestsDir)) {
      const text = await node.readFile(manifest);
      if (text === undefined) continue;
      let pod;
      try {
        pod = staticPodVolumes(text, `${node.name}:${manifest}`);
      } catch {
        continue;
      }
      if (!pod || CONTROL_PLANE_PODS.includes(pod.name)) continue;
      const mounts = nodeFileMounts(pod.hostPaths, layout);
      if (mounts.length === 0) continue;
      found.push({ node: node.name, name: pod.name, namespace: pod.namespace, manifest, mounts });
    }
  }
  return found;
}
