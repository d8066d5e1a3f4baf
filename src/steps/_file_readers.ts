/**
 * The files on a node that may name a PKI file by path, read before such a file is removed: a
 * file is deleted only once none of them names it any more.
 * @module
 */
import type { NodeAccess } from "../engine/node_access.ts";
import { COMPONENTS } from "../plan/component.ts";
import type { Layout } from "../plan/layout.ts";
import { CONTROL_PLANE_KUBECONFIGS, kubeconfigPath, manifestPath } from "../plan/node_paths.ts";
import type { DesiredFile } from "./file_changes.ts";

/**
 * The files on a node that may name a PKI file by path: the static-pod manifest of every
 * control-plane component, the kubelet config, and the kubeconfigs (the control-plane ones and
 * the kubelet's, whose `certificate-authority: <path>` names a file).
 */
export function readersOf(layout: Layout): string[] {
  return [
    ...COMPONENTS.map((component) => manifestPath(layout, component)),
    layout.kubeletConfig,
    ...CONTROL_PLANE_KUBECONFIGS.map(({ file }) => kubeconfigPath(layout, file)),
    layout.kubeletKubeconfig,
  ];
}

/** How {@link unreferencedRemovals} describes what it removes. */
export interface Removal {
  /** The file of `doomed` that holds a private key (masked in every rendering). */
  readonly secretPath: string;
  readonly reason: string;
  /** What to do first when a reader still names a file, e.g. "point it at the new CA". */
  readonly remedy: string;
}

/**
 * The deletions of those of `doomed` that exist on `node`; an error naming the file that still
 * references one of them (see {@link readersOf}).
 */
export async function unreferencedRemovals(
  node: NodeAccess,
  layout: Layout,
  doomed: readonly string[],
  removal: Removal,
): Promise<DesiredFile[]> {
  const readers: { path: string; text: string }[] = [];
  for (const path of new Set(readersOf(layout))) {
    const text = await node.readFile(path);
    if (text !== undefined) readers.push({ path, text });
  }
  const files: DesiredFile[] = [];
  for (const path of doomed) {
    const current = await node.readFile(path);
    if (current === undefined) continue;
    const user = readers.find((reader) => reader.text.includes(path));
    if (user) {
      throw new Error(`${node.name}: ${user.path} still references ${path}: ${removal.remedy}`);
    }
    files.push({
      node: node.name,
      path,
      current,
      desired: undefined,
      sensitive: path === removal.secretPath,
      reason: removal.reason,
    });
  }
  return files;
}
