/**
 * A person's or a pipeline's kubeconfig, as `kubectl` reads it: its clusters (server, CA), its
 * users (which credential each holds) and its current context; and the two edits a CA rotation
 * asks of it: a cluster's `certificate-authority-data`, a user's client certificate and key.
 * Edits keep the rest of the file (comments, other entries, order). Pure.
 * @module
 */
import { type Document, isMap, isSeq, parseDocument } from "yaml";

/** A kubeconfig that cannot be read or edited; the message names the file and the field. */
export class UserKubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserKubeconfigError";
  }
}

/** The credential a kubeconfig user holds. */
export type CredentialKind =
  | "client-certificate"
  | "token"
  | "exec"
  | "auth-provider"
  | "basic-auth"
  | "none";

/** One `clusters[]` entry. */
export interface KubeconfigCluster {
  readonly index: number;
  readonly name: string;
  readonly server: string;
  /** The PEM of `certificate-authority-data`, when it has one. */
  readonly caPem?: string;
  /** `certificate-authority` (a file path), when it has one. */
  readonly caFile?: string;
  readonly insecure: boolean;
}

/** One `users[]` entry. */
export interface KubeconfigUser {
  readonly index: number;
  readonly name: string;
  readonly credential: CredentialKind;
  /** The client certificate PEM (inline data), when it has one. */
  readonly certPem?: string;
  /** `client-certificate` (a file path), when it has one. */
  readonly certFile?: string;
}

/** What a kubeconfig holds, as far as bringing it along a CA rotation needs. */
export interface UserKubeconfig {
  readonly clusters: readonly KubeconfigCluster[];
  readonly users: readonly KubeconfigUser[];
  readonly contexts: readonly { name: string; cluster: string; user: string }[];
  readonly currentContext?: string;
}

/** Base64 of UTF-8 text (kubeconfig `*-data` fields). */
export function encodeData(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function decodeData(base64: string, where: string): string {
  try {
    return new TextDecoder().decode(
      Uint8Array.from(atob(base64.replace(/\s+/g, "")), (c) => c.charCodeAt(0)),
    );
  } catch {
    throw new UserKubeconfigError(`${where} is not base64`);
  }
}

function parse(text: string, path: string): Document {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new UserKubeconfigError(`${path}: not valid YAML: ${document.errors[0].message}`);
  }
  if (!isMap(document.contents)) {
    throw new UserKubeconfigError(`${path}: not a kubeconfig (a YAML mapping with clusters)`);
  }
  return document;
}

/** The entries of `field`, each as a plain object; an absent list is empty. */
function entriesOf(document: Document, field: string, path: string): Record<string, unknown>[] {
  const list = document.get(field, true);
  if (list === undefined || list === null) return [];
  if (!isSeq(list)) throw new UserKubeconfigError(`${path}: ${field} is not a list`);
  return (list.toJSON() as unknown[]).map((entry, index) => {
    if (typeof entry !== "object" || entry === null) {
      throw new UserKubeconfigError(`${path}: ${field}[${index}] is not a mapping`);
    }
    return entry as Record<string, unknown>;
  });
}

const stringOf = (value: unknown) => typeof value === "string" ? value : undefined;
const inner = (entry: Record<string, unknown>, key: string) =>
  (typeof entry[key] === "object" && entry[key] !== null ? entry[key] : {}) as Record<
    string,
    unknown
  >;

function credentialOf(user: Record<string, unknown>): CredentialKind {
  if (user["client-certificate-data"] || user["client-certificate"]) return "client-certificate";
  if (user.token || user.tokenFile) return "token";
  if (user.exec) return "exec";
  if (user["auth-provider"]) return "auth-provider";
  if (user.username || user.password) return "basic-auth";
  return "none";
}

/**
 * Reads a kubeconfig.
 * @throws {UserKubeconfigError} naming `path` and the field: not YAML, not a mapping, no clusters,
 * a cluster without a server, CA data that is not base64.
 */
export function readUserKubeconfig(text: string, path = "kubeconfig"): UserKubeconfig {
  const document = parse(text, path);
  const clusters = entriesOf(document, "clusters", path).map((entry, index) => {
    const cluster = inner(entry, "cluster");
    const where = `${path}: clusters[${index}]`;
    const server = stringOf(cluster.server);
    if (!server) throw new UserKubeconfigError(`${where}.cluster.server is missing`);
    const data = stringOf(cluster["certificate-authority-data"]);
    return {
      index,
      name: stringOf(entry.name) ?? "",
      server,
      ...(data ? { caPem: decodeData(data, `${where}.cluster.certificate-authority-data`) } : {}),
      ...(stringOf(cluster["certificate-authority"])
        ? { caFile: stringOf(cluster["certificate-authority"]) }
        : {}),
      insecure: cluster["insecure-skip-tls-verify"] === true,
    };
  });
  if (clusters.length === 0) throw new UserKubeconfigError(`${path}: has no clusters`);
  const users = entriesOf(document, "users", path).map((entry, index) => {
    const user = inner(entry, "user");
    const data = stringOf(user["client-certificate-data"]);
    return {
      index,
      name: stringOf(entry.name) ?? "",
      credential: credentialOf(user),
      ...(data
        ? { certPem: decodeData(data, `${path}: users[${index}].user.client-certificate-data`) }
        : {}),
      ...(stringOf(user["client-certificate"])
        ? { certFile: stringOf(user["client-certificate"]) }
        : {}),
    };
  });
  const contexts = entriesOf(document, "contexts", path).map((entry) => {
    const context = inner(entry, "context");
    return {
      name: stringOf(entry.name) ?? "",
      cluster: stringOf(context.cluster) ?? "",
      user: stringOf(context.user) ?? "",
    };
  });
  const currentContext = stringOf(document.get("current-context"));
  return { clusters, users, contexts, ...(currentContext ? { currentContext } : {}) };
}

/**
 * The kubeconfig with `caPem` as the `certificate-authority-data` of the clusters at `indexes`;
 * their `certificate-authority` file and `insecure-skip-tls-verify` are dropped (kubectl refuses
 * a CA together with the insecure flag).
 */
export function withClusterCaData(
  text: string,
  indexes: readonly number[],
  caPem: string,
  path = "kubeconfig",
): string {
  const document = parse(text, path);
  for (const index of indexes) {
    document.deleteIn(["clusters", index, "cluster", "certificate-authority"]);
    document.deleteIn(["clusters", index, "cluster", "insecure-skip-tls-verify"]);
    document.setIn(["clusters", index, "cluster", "certificate-authority-data"], encodeData(caPem));
  }
  return document.toString({ indentSeq: false });
}

/**
 * The kubeconfig with the user at `index` holding `certPem` and `keyPem` inline
 * (`client-certificate-data`, `client-key-data`); its certificate and key files are dropped.
 */
export function withUserClientCertificate(
  text: string,
  index: number,
  certPem: string,
  keyPem: string,
  path = "kubeconfig",
): string {
  const document = parse(text, path);
  document.deleteIn(["users", index, "user", "client-certificate"]);
  document.deleteIn(["users", index, "user", "client-key"]);
  document.setIn(["users", index, "user", "client-certificate-data"], encodeData(certPem));
  document.setIn(["users", index, "user", "client-key-data"], encodeData(keyPem));
  return document.toString({ indentSeq: false });
}
