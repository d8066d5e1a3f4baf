/**
 * Kubelet serving CertificateSigningRequests (signer `kubernetes.io/kubelet-serving`), which no
 * controller approves by itself, and the careful approver's check: a CSR is approved only when
 * it comes from the node it names, asks for a serving certificate, and every name it asks for is
 * one of that Node's own names or addresses. Pure.
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import type { ParsedCsr } from "../pki/mod.ts";
import type { CsrObject } from "./csr_index.ts";
import { NODE_USER_PREFIX } from "./csr_index.ts";

/** The signer of kubelet serving certificates. */
export const KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving";

/** The group every node's identity is in. */
export const NODES_GROUP = "system:nodes";

/** A Node as far as its serving certificate goes. */
export interface NodeObject extends KubeObject {
  status?: {
    addresses?: { type?: string; address?: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

/** The names and addresses a Node may have in its serving certificate. */
export interface NodeIdentity {
  readonly name: string;
  /** DNS names: the Node's `Hostname`, `InternalDNS` and `ExternalDNS` addresses. */
  readonly dnsNames: readonly string[];
  /** IP addresses: its `InternalIP` and `ExternalIP` addresses. */
  readonly ipAddresses: readonly string[];
}

/** Pure: the names and addresses of a Node object. */
export function nodeIdentity(node: NodeObject): NodeIdentity {
  const addresses = node.status?.addresses ?? [];
  const of = (types: string[]) =>
    addresses.filter((a) => types.includes(a.type ?? "") && a.address).map((a) => a.address!);
  return {
    name: node.metadata?.name ?? "",
    dnsNames: of(["Hostname", "InternalDNS", "ExternalDNS"]),
    ipAddresses: of(["InternalIP", "ExternalIP"]).map(normalizeIp),
  };
}

/** The usages a kubelet asks for (`key encipherment` with an RSA key). */
const SERVING_USAGES = new Set(["digital signature", "key encipherment", "server auth"]);

/** What the approver reads of a CSR: its request (parsed) and who sent it. */
export interface ServingCsrFacts {
  readonly signerName?: string;
  readonly username?: string;
  readonly groups?: readonly string[];
  readonly usages?: readonly string[];
  /** The parsed request (subject and SANs). */
  readonly request: Pick<
    ParsedCsr,
    "commonName" | "organizations" | "dnsNames" | "ipAddresses" | "uris" | "emails"
  >;
}

/** The node a kubelet-serving CSR is for (its requester's `system:node:<name>`), if any. */
export function servingCsrNode(csr: CsrObject): string | undefined {
  if (csr.spec?.signerName !== KUBELET_SERVING_SIGNER) return undefined;
  const user = csr.spec.username ?? "";
  return user.startsWith(NODE_USER_PREFIX)
    ? user.slice(NODE_USER_PREFIX.length) || undefined
    : undefined;
}

/**
 * Pure: why a kubelet-serving CSR must not be approved for `node`, or `undefined` when a careful
 * approver approves it: the signer is `kubernetes.io/kubelet-serving`; the requester is
 * `system:node:<node>` in `system:nodes` (or, with `requesterIsApprover`, ca-rotator itself for a
 * forced rotation); the subject is exactly CN `system:node:<node>`, O `system:nodes`; the usages
 * are serving usages with `server auth`; and there is at least one SAN, every DNS name is one of
 * the Node's names, every IP one of its addresses, and there are no URI or e-mail SANs.
 */
export function servingCsrProblem(
  csr: ServingCsrFacts,
  node: NodeIdentity,
  requesterIsApprover = false,
): string | undefined {
  const user = `${NODE_USER_PREFIX}${node.name}`;
  if (csr.signerName !== KUBELET_SERVING_SIGNER) {
    return `signer is "${csr.signerName ?? ""}", not ${KUBELET_SERVING_SIGNER}`;
  }
  if (!requesterIsApprover) {
    if (csr.username !== user) return `requested by "${csr.username ?? ""}", not ${user}`;
    if (!(csr.groups ?? []).includes(NODES_GROUP)) {
      return `requester is not in the group ${NODES_GROUP}`;
    }
  }
  const request = csr.request;
  if (request.commonName !== user) return `subject CN is "${request.commonName}", not ${user}`;
  if (request.organizations.length !== 1 || request.organizations[0] !== NODES_GROUP) {
    return `subject O is [${request.organizations.join(", ")}], not [${NODES_GROUP}]`;
  }
  const usages = csr.usages ?? [];
  const stray = usages.filter((u) => !SERVING_USAGES.has(u));
  if (stray.length) return `usages ${stray.join(", ")} are not serving usages`;
  if (!usages.includes("server auth")) return "usages lack server auth";
  if (request.uris.length || request.emails.length) {
    return `asks for URI or e-mail names (${[...request.uris, ...request.emails].join(", ")})`;
  }
  if (request.dnsNames.length + request.ipAddresses.length === 0) {
    return "asks for no DNS name or IP address";
  }
  const dns = new Set(node.dnsNames.map((n) => n.toLowerCase()));
  const foreignDns = request.dnsNames.filter((n) => !dns.has(n.toLowerCase()));
  if (foreignDns.length) {
    return `DNS names ${foreignDns.join(", ")} are not names of Node ${node.name} ` +
      `(${node.dnsNames.join(", ") || "none"})`;
  }
  const ips = new Set(node.ipAddresses.map(normalizeIp));
  const foreignIps = request.ipAddresses.filter((a) => !ips.has(normalizeIp(a)));
  if (foreignIps.length) {
    return `IP addresses ${foreignIps.join(", ")} are not addresses of Node ${node.name} ` +
      `(${node.ipAddresses.join(", ") || "none"})`;
  }
  return undefined;
}

/** An IP address in one spelling (IPv6 lowercased, without brackets). */
function normalizeIp(address: string): string {
  return address.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}
