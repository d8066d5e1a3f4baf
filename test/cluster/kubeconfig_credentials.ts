/**
 * Reads the current context of a kubeconfig on a node into what a client connects with:
 * server, trusted CA certificates and client certificate/key. Paths in the kubeconfig are
 * node paths and are read from inside the node root.
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { hostPath } from "./path_map.ts";
import { pemBlocks, privateKeyBlock } from "./kubelet_pki.ts";

/** The credentials of a kubeconfig's current context. */
export interface KubeconfigCredentials {
  /** API server URL. */
  server: string;
  /** Trusted CA certificates (PEM, one per entry). */
  caPems: string[];
  /** Client certificate chain (PEM). */
  certPem: string;
  /** Client private key (PEM). */
  keyPem: string;
  /** Node path of the client certificate file, when the kubeconfig references one. */
  certPath?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function named(list: unknown, name: string, key: string): Obj | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry = list.find((e) => isObj(e) && e.name === name);
  return isObj(entry) && isObj(entry[key]) ? entry[key] as Obj : undefined;
}

/**
 * Loads the credentials of the kubeconfig at node path `path` on the node rooted at `root`.
 * Errors name the file and the missing field.
 */
export async function loadKubeconfigCredentials(
  root: string,
  path: string,
): Promise<KubeconfigCredentials> {
  const file = hostPath(root, path);
  const fail = (what: string) => new Error(`Cannot use kubeconfig "${file}": ${what}`);
  let doc: unknown;
  try {
    doc = parse(await Deno.readTextFile(file));
  } catch (error) {
    throw fail((error as Error).message.split("\n")[0]);
  }
  if (!isObj(doc)) throw fail("not a YAML mapping");
  const contextName = String(doc["current-context"] ?? "");
  const context = named(doc.contexts, contextName, "context");
  if (!context) throw fail(`current-context "${contextName}" is not in contexts`);
  const cluster = named(doc.clusters, String(context.cluster), "cluster");
  if (!cluster) throw fail(`cluster "${context.cluster}" is missing`);
  const user = named(doc.users, String(context.user), "user");
  if (!user) throw fail(`user "${context.user}" is missing`);
  const resolve = (p: string) => isAbsolute(p) ? p : join(dirname(path), p);
  const readData = async (
    dataKey: string,
    fileKey: string,
    from: Obj,
  ): Promise<[string, string?]> => {
    if (typeof from[dataKey] === "string" && from[dataKey]) {
      return [
        new TextDecoder().decode(
          Uint8Array.from(atob(from[dataKey] as string), (c) => c.charCodeAt(0)),
        ),
      ];
    }
    if (typeof from[fileKey] === "string" && from[fileKey]) {
      const nodePath = resolve(from[fileKey] as string);
      try {
        return [await Deno.readTextFile(hostPath(root, nodePath)), nodePath];
      } catch (error) {
        throw fail(`${fileKey} ${nodePath}: ${(error as Error).message}`);
      }
    }
    throw fail(`${dataKey} and ${fileKey} are both missing`);
  };
  if (typeof cluster.server !== "string") throw fail("cluster server is missing");
  const [caText] = await readData("certificate-authority-data", "certificate-authority", cluster);
  const [certText, certPath] = await readData(
    "client-certificate-data",
    "client-certificate",
    user,
  );
  // kubelet-client-current.pem holds certificate and key: read it once, as the kubelet's
  // certificate store does, so that a rotation between two reads cannot pair a certificate
  // with the key of another.
  const sameFile = !user["client-key-data"] && certPath !== undefined &&
    typeof user["client-key"] === "string" && resolve(user["client-key"]) === certPath;
  const [keyText] = sameFile ? [certText] : await readData("client-key-data", "client-key", user);
  const caPems = pemBlocks(caText, "CERTIFICATE");
  if (caPems.length === 0) throw fail("the certificate authority holds no certificate");
  const certPems = pemBlocks(certText, "CERTIFICATE");
  if (certPems.length === 0) throw fail("the client certificate holds no certificate");
  const keyPem = privateKeyBlock(keyText);
  if (!keyPem) throw fail("the client key holds no private key");
  return { server: cluster.server, caPems, certPem: certPems.join(""), keyPem, certPath };
}
