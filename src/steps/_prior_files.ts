/**
 * What the node files a rotation wrote held before it: the node drivers' journal of writes and
 * their backups (`NodeAccess.filesAsOf`), as the files a rollback step writes back.
 * @module
 */
import { z } from "zod";
import type { NodeAccess } from "../engine/node_access.ts";
import type { Layout } from "../plan/layout.ts";
import type { DesiredFile } from "./file_changes.ts";
import { containsPrivateKey } from "../pki/mod.ts";

/** The schema fields of every undo step (`UndoFields`): the window of writes it reverts. */
export const undoFields = {
  /** Revert the writes made from this moment (ISO 8601) … */
  since: z.string(),
  /** … until this one: when the rollback began (later writes are its own). */
  until: z.string(),
  /** A rollback run again after an interruption. */
  resumed: z.boolean().default(false),
};

/** The mode a restored file is written with: keys, kubeconfigs and manifests 0600. */
export function restoredMode(path: string, content: string): number {
  return containsPrivateKey(content) || /\.conf$|\/manifests\//.test(path) ||
      /-key-data:/.test(content)
    ? 0o600
    : 0o644;
}

/** Is `path` the kubelet's configuration or kubeconfig? */
export function isKubeletFile(layout: Layout, path: string): boolean {
  return path === layout.kubeletConfig || path === layout.kubeletKubeconfig;
}

/**
 * Is `path` in the kubelet's certificate store? Never restored: an earlier certificate may have
 * expired since; a kubelet on a new-CA certificate gets a new old-CA one instead
 * (`reissue-kubelet-clients`).
 */
export function isKubeletCertificate(layout: Layout, path: string): boolean {
  return path.startsWith(`${layout.kubeletPkiDir}/`);
}

/**
 * The files of `node` written between `since` and `until` that `keep` selects (never the
 * kubelet's certificates), each with its
 * content now and the content it had at `since` (`undefined`: it did not exist, remove it).
 */
export async function restorations(
  node: NodeAccess,
  layout: Layout,
  window: { readonly since: string; readonly until: string },
  keep: (path: string) => boolean,
): Promise<DesiredFile[]> {
  if (!node.filesAsOf) {
    throw new Error(`${node.name}: its node driver keeps no journal of writes: cannot roll back`);
  }
  const prior = await node.filesAsOf(new Date(window.since), new Date(window.until));
  const files: DesiredFile[] = [];
  for (const file of prior.filter((each) => keep(each.path))) {
    if (isKubeletCertificate(layout, file.path)) continue;
    const current = await node.readFile(file.path);
    const text = file.content ?? current ?? "";
    files.push({
      node: node.name,
      path: file.path,
      current,
      desired: file.content,
      mode: restoredMode(file.path, text),
      sensitive: containsPrivateKey(text) || /-key-data:/.test(text),
      reason: file.content === undefined
        ? "the rotation created it"
        : "as it was before the rotation",
    });
  }
  return files;
}
