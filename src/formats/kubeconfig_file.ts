/**
 * Reads and edits kubeconfig files on nodes (admin.conf, controller-manager.conf, kubelet.conf,
 * …): the cluster's `certificate-authority-data` and the user's client certificate. Edits keep
 * the rest of the file.
 * @module
 */
import { type Document, isSeq, parseDocument, type YAMLSeq } from "yaml";

function parse(text: string, path: string): Document {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`${path}: not valid YAML: ${document.errors[0].message}`);
  }
  return document;
}

function entries(document: Document, field: "clusters" | "users", path: string): YAMLSeq {
  const list = document.get(field, true);
  if (!isSeq(list) || list.items.length === 0) throw new Error(`${path}: has no ${field}`);
  return list as YAMLSeq;
}

const decode = (base64: string) =>
  new TextDecoder().decode(
    Uint8Array.from(atob(base64.replace(/\s+/g, "")), (c) => c.charCodeAt(0)),
  );
const encode = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

/** The PEM of every cluster's `certificate-authority-data` (kubeadm files have one cluster). */
export function kubeconfigCaData(text: string, path = "kubeconfig"): string[] {
  const document = parse(text, path);
  return entries(document, "clusters", path).items.map((_, index) => {
    const data = document.getIn(["clusters", index, "cluster", "certificate-authority-data"]);
    if (typeof data !== "string") {
      throw new Error(`${path}: clusters[${index}].cluster.certificate-authority-data is missing`);
    }
    return decode(data);
  });
}

/** The kubeconfig with every cluster's `certificate-authority-data` set to `caPem`. */
export function setKubeconfigCaData(text: string, caPem: string, path = "kubeconfig"): string {
  const document = parse(text, path);
  entries(document, "clusters", path).items.forEach((_, index) => {
    document.deleteIn(["clusters", index, "cluster", "certificate-authority"]);
    document.setIn(["clusters", index, "cluster", "certificate-authority-data"], encode(caPem));
  });
  return document.toString({ indentSeq: false });
}

/** A user's client credentials: inline data, or the paths of files on the node. */
export interface KubeconfigClientCert {
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The first user's client certificate. */
export function kubeconfigClientCert(text: string, path = "kubeconfig"): KubeconfigClientCert {
  const document = parse(text, path);
  entries(document, "users", path);
  const user = (field: string) => {
    const value = document.getIn(["users", 0, "user", field]);
    return typeof value === "string" ? value : undefined;
  };
  const certData = user("client-certificate-data");
  const keyData = user("client-key-data");
  return {
    certPem: certData ? decode(certData) : undefined,
    keyPem: keyData ? decode(keyData) : undefined,
    certFile: user("client-certificate"),
    keyFile: user("client-key"),
  };
}

/** The kubeconfig with the first user's inline client certificate (and key, if given) set. */
export function setKubeconfigClientCert(
  text: string,
  certPem: string,
  keyPem?: string,
  path = "kubeconfig",
): string {
  const document = parse(text, path);
  entries(document, "users", path);
  document.setIn(["users", 0, "user", "client-certificate-data"], encode(certPem));
  if (keyPem !== undefined) document.setIn(["users", 0, "user", "client-key-data"], encode(keyPem));
  return document.toString({ indentSeq: false });
}
