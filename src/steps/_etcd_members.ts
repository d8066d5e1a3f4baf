/**
 * The etcd members of a stacked control plane, as their static-pod manifests advertise them, and
 * a TLS client that talks to them with a given client certificate.
 * @module
 */
import type { NodeAccess } from "../engine/node_access.ts";
import { manifestFlags } from "../formats/static_pod_manifest.ts";
import { errorText } from "./_watch_object.ts";

/** One member: its node and the URLs it advertises to clients and to its peers. */
export interface EtcdMember {
  readonly node: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

/** Pure: the member a manifest describes (the first URL of each advertised list). */
export function memberOf(node: string, manifest: string, where: string): EtcdMember {
  const flags = manifestFlags(manifest, where);
  const first = (flag: string) => {
    const value = flags.get(flag)?.split(",")[0]?.trim();
    if (!value) throw new Error(`${where} sets no ${flag}`);
    return value.replace(/\/+$/, "");
  };
  return {
    node,
    clientUrl: first("--advertise-client-urls"),
    peerUrl: first("--initial-advertise-peer-urls"),
  };
}

/** The member of each control-plane node, read from its etcd manifest at `path`. */
export async function etcdMembers(
  nodes: readonly NodeAccess[],
  path: string,
): Promise<EtcdMember[]> {
  const members: EtcdMember[] = [];
  for (const node of nodes) {
    const manifest = await node.readFile(path);
    if (manifest === undefined) throw new Error(`${node.name}: ${path} is missing`);
    members.push(memberOf(node.name, manifest, `${node.name}:${path}`));
  }
  return members;
}

/** A TLS identity for etcd: client certificate and key (PEM), and the CAs to verify the member. */
export interface EtcdIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** What a request to a member gave: its HTTP status, or the error that stopped it. */
export type EtcdAnswer = { readonly status: number } | { readonly error: string };

/**
 * Sends one request to `url` (a member's client or peer endpoint) as `identity`, a new TLS
 * connection each time: `POST` with a JSON body (the gRPC gateway), else `GET`.
 */
export async function askMember(
  identity: EtcdIdentity,
  url: string,
  body?: unknown,
  timeoutMs = 5_000,
): Promise<EtcdAnswer> {
  // HTTP/1.1 only: etcd's peer listener answers HTTP/1.1 even when TLS offers h2.
  const client = Deno.createHttpClient({
    cert: identity.certPem,
    key: identity.keyPem,
    caCerts: [identity.caPem],
    http2: false,
  });
  try {
    const response = await fetch(url, {
      client,
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return { status: response.status };
  } catch (error) {
    return { error: errorText(error) };
  } finally {
    client.close();
  }
}
