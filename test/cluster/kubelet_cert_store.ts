/**
 * The kubelet's client-certificate store on a node: W/var/lib/kubelet/pki, where each new
 * client certificate and key go to kubelet-client-<time>.pem and the link
 * kubelet-client-current.pem names the current one.
 * @module
 */
import { join } from "node:path";
import { hostPath } from "./path_map.ts";

/** Node path of the kubelet's certificate directory. */
export const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";
/** Node path of the link to the current client certificate and key. */
export const KUBELET_CLIENT_CURRENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";

/**
 * Stores a client certificate and key as the kubelet's certificate store does:
 * W/var/lib/kubelet/pki/kubelet-client-<YYYY-MM-DD-HH-MM-SS>.pem (certificate, then key;
 * mode 0600) and the link kubelet-client-current.pem pointing at it (a relative link, so
 * that it resolves inside the node root). Returns the node path of the new file.
 */
export async function storeClientCertificate(
  root: string,
  certPem: string,
  keyPem: string,
  now: Date = new Date(),
): Promise<string> {
  const dir = hostPath(root, KUBELET_PKI_DIR);
  await Deno.mkdir(dir, { recursive: true });
  const stamp = now.toISOString().slice(0, 19).replace(/[T:]/g, "-");
  let name = `kubelet-client-${stamp}.pem`;
  for (let i = 1; await exists(join(dir, name)); i++) name = `kubelet-client-${stamp}-${i}.pem`;
  await Deno.writeTextFile(join(dir, name), certPem + keyPem, { mode: 0o600 });
  await Deno.chmod(join(dir, name), 0o600);
  const tmp = join(dir, `.kubelet-client-current.pem.${crypto.randomUUID()}`);
  await Deno.symlink(name, tmp);
  await Deno.rename(tmp, join(dir, "kubelet-client-current.pem"));
  return `${KUBELET_PKI_DIR}/${name}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
