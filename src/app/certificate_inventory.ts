/**
 * The certificates a node holds, as `kubeadm certs check-expiration` lists them and more: the CAs
 * (and a staged new CA), the control plane's leaf certificates and the client certificates of its
 * kubeconfigs, and on every node the kubelet's client and serving certificates. Read through the
 * node drivers; a file that is absent is left out, one that cannot be parsed is a problem.
 * @module
 */
import { posix } from "node:path";
import type { NodeAccess } from "../engine/node_access.ts";
import type { Layout } from "../plan/layout.ts";
import { CA_NAMES, caFileBase } from "../plan/ca.ts";
import { CONTROL_PLANE_KUBECONFIGS, kubeconfigPath } from "../plan/node_paths.ts";
import { kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import { readNodeCertificate } from "../kubelet/node_facts.ts";
import { parseCertificates, x509 } from "../pki/mod.ts";

/** What a certificate is on its node. */
export type CertificateRole = "ca" | "leaf" | "kubeconfig" | "kubelet-client" | "kubelet-serving";

/** One certificate a node holds. */
export interface HeldCertificate {
  readonly node: string;
  /** The file; for a kubeconfig's embedded certificate, the kubeconfig. */
  readonly path: string;
  readonly role: CertificateRole;
  readonly cert: x509.X509Certificate;
  /** For a CA: the short name kubeadm gives it (`ca`, `front-proxy-ca`, `etcd-ca`, `ca (new)`). */
  readonly caName?: string;
}

/** A file that is there but could not be read as a certificate. */
export interface InventoryProblem {
  readonly node: string;
  readonly path: string;
  readonly problem: string;
}

/** The leaf certificates kubeadm writes in the PKI directory of a control-plane node. */
const KUBEADM_LEAVES = [
  "apiserver",
  "apiserver-kubelet-client",
  "front-proxy-client",
  "apiserver-etcd-client",
  "etcd/server",
  "etcd/peer",
  "etcd/healthcheck-client",
];

/** The certificates `node` holds; on a control-plane node also the leaves and kubeconfigs. */
export async function nodeInventory(
  node: NodeAccess,
  layout: Layout,
  controlPlane: boolean,
): Promise<{ held: HeldCertificate[]; problems: InventoryProblem[] }> {
  const held: HeldCertificate[] = [];
  const problems: InventoryProblem[] = [];
  const add = (path: string, role: CertificateRole, pem: string, caName?: string) => {
    try {
      for (const cert of parseCertificates(pem, `${node.name}:${path}`)) {
        held.push({ node: node.name, path, role, cert, ...(caName ? { caName } : {}) });
      }
    } catch (error) {
      problems.push({ node: node.name, path, problem: (error as Error).message });
    }
  };
  const file = async (path: string, role: CertificateRole, caName?: string) => {
    const text = await node.readFile(path);
    if (text !== undefined) add(path, role, text, caName);
  };
  const cas: string[] = controlPlane ? CA_NAMES.map(caFileBase) : ["ca"];
  for (const base of cas) {
    const name = base === "etcd/ca" ? "etcd-ca" : base;
    await file(`${layout.pkiDir}/${base}.crt`, "ca", name);
    if (controlPlane) await file(`${layout.pkiDir}/${base}-new.crt`, "ca", `${name} (new)`);
  }
  if (controlPlane) {
    for (const leaf of KUBEADM_LEAVES) await file(`${layout.pkiDir}/${leaf}.crt`, "leaf");
    for (const { file: name } of CONTROL_PLANE_KUBECONFIGS) {
      const path = kubeconfigPath(layout, name);
      const text = await node.readFile(path);
      if (text === undefined) continue;
      try {
        const client = kubeconfigClientCert(text, `${node.name}:${path}`);
        const pem = client.certPem ??
          (client.certFile ? await node.readFile(client.certFile) : undefined);
        if (pem !== undefined) add(path, "kubeconfig", pem);
      } catch (error) {
        problems.push({ node: node.name, path, problem: (error as Error).message });
      }
    }
  }
  const readProblems: string[] = [];
  const client = await readNodeCertificate(node, layout, readProblems);
  if (client) {
    const cert = new x509.X509Certificate(new Uint8Array(client.cert.der));
    held.push({ node: node.name, path: client.origin, role: "kubelet-client", cert });
  }
  for (const problem of readProblems) {
    problems.push({ node: node.name, path: layout.kubeletKubeconfig, problem });
  }
  for (const name of ["kubelet-server-current.pem", "kubelet.crt"]) {
    const path = posix.join(layout.kubeletPkiDir, name);
    const text = await node.readFile(path);
    if (text === undefined) continue;
    add(path, "kubelet-serving", text);
    break;
  }
  return { held, problems };
}
