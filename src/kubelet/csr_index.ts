/**
 * Kubelet client CertificateSigningRequests (signer `kubernetes.io/kube-apiserver-client-kubelet`)
 * grouped by node: the newest one and the newest issued one. Pure.
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import { decodePem, readCsrSubject, x509 } from "../pki/mod.ts";

/** The signer of kubelet client certificates. */
export const KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";

/** The user name prefix of a node's identity. */
export const NODE_USER_PREFIX = "system:node:";

/** A `certificates.k8s.io/v1` CertificateSigningRequest, as far as the verifier reads it. */
export interface CsrObject extends KubeObject {
  spec?: {
    request?: string;
    signerName?: string;
    username?: string;
    groups?: string[];
    usages?: string[];
    expirationSeconds?: number;
  };
  status?: {
    certificate?: string;
    conditions?: {
      type?: string;
      status?: string;
      reason?: string;
      message?: string;
    }[];
  };
}

/** Where a CSR stands. */
export type CsrState = "pending" | "approved" | "issued" | "denied" | "failed";

/** One CSR, summarized. */
export interface CsrSummary {
  readonly name: string;
  readonly state: CsrState;
  /** ISO 8601 creation time. */
  readonly created: string;
  /** The requesting user (`system:node:<name>`, or `system:bootstrap:<id>` for TLS bootstrap). */
  readonly requester: string;
  /** The issued certificate (PEM), when `state` is `issued`. */
  readonly certificatePem?: string;
  /** The reason and message of a Denied or Failed condition. */
  readonly detail?: string;
}

/** The kubelet client CSRs of one node. */
export interface NodeCsrs {
  /** The newest CSR of the node, whatever its state. */
  readonly newest: CsrSummary;
  /** The newest CSR with an issued certificate. */
  readonly newestIssued?: CsrSummary;
}

/** The state of a CSR from its conditions and certificate. */
export function csrState(csr: CsrObject): CsrState {
  const conditions = (csr.status?.conditions ?? []).filter((c) => c.status !== "False");
  if (conditions.some((c) => c.type === "Denied")) return "denied";
  if (conditions.some((c) => c.type === "Failed")) return "failed";
  if (csr.status?.certificate) return "issued";
  if (conditions.some((c) => c.type === "Approved")) return "approved";
  return "pending";
}

/**
 * The node a kubelet client CSR is for: the requester's `system:node:<name>`, or — for a TLS
 * bootstrap request, made with a bootstrap token — the CN `system:node:<name>` of the request.
 * `undefined` for CSRs of other signers or that name no node.
 */
export function csrNodeName(csr: CsrObject): string | undefined {
  if (csr.spec?.signerName !== KUBELET_CLIENT_SIGNER) return undefined;
  const user = csr.spec.username ?? "";
  if (user.startsWith(NODE_USER_PREFIX)) return user.slice(NODE_USER_PREFIX.length) || undefined;
  const cn = requestCommonName(csr.spec.request);
  return cn?.startsWith(NODE_USER_PREFIX)
    ? cn.slice(NODE_USER_PREFIX.length) || undefined
    : undefined;
}

/** Indexes kubelet client CSRs by node name. CSRs of other signers are ignored. */
export function indexKubeletCsrs(csrs: Iterable<CsrObject>): Map<string, NodeCsrs> {
  const index = new KubeletCsrIndex();
  for (const csr of csrs) index.add(csr);
  return index.byNode;
}

/**
 * The index of {@link indexKubeletCsrs} built one CSR at a time, as a paginated LIST visits
 * them: only each CSR's summary is kept, not the object.
 */
export class KubeletCsrIndex {
  readonly #byNode = new Map<string, { newest: CsrSummary; newestIssued?: CsrSummary }>();

  /** The CSRs by node so far. */
  get byNode(): Map<string, NodeCsrs> {
    return this.#byNode;
  }

  /** Adds one CSR (ignored unless it is a kubelet client CSR naming a node). */
  add(csr: CsrObject): void {
    const node = csrNodeName(csr);
    if (!node) return;
    const summary = summarize(csr);
    const entry = this.#byNode.get(node);
    if (!entry) {
      this.#byNode.set(node, {
        newest: summary,
        ...(summary.state === "issued" ? { newestIssued: summary } : {}),
      });
      return;
    }
    if (newer(summary, entry.newest)) entry.newest = summary;
    if (summary.state === "issued" && (!entry.newestIssued || newer(summary, entry.newestIssued))) {
      entry.newestIssued = summary;
    }
  }
}

function summarize(csr: CsrObject): CsrSummary {
  const state = csrState(csr);
  const created = csr.metadata?.creationTimestamp;
  const condition = (csr.status?.conditions ?? []).find((c) =>
    (c.type === "Denied" || c.type === "Failed") && c.status !== "False"
  );
  return {
    name: csr.metadata?.name ?? "",
    state,
    created: created instanceof Date
      ? created.toISOString()
      : created
      ? new Date(created).toISOString()
      : new Date(0).toISOString(),
    requester: csr.spec?.username ?? "",
    ...(state === "issued" ? { certificatePem: decodeBase64Text(csr.status!.certificate!) } : {}),
    ...(condition
      ? { detail: [condition.reason, condition.message].filter(Boolean).join(": ") }
      : {}),
  };
}

/** Newer by creation time; names (generateName suffixes) break ties for a stable order. */
function newer(a: CsrSummary, b: CsrSummary): boolean {
  return a.created > b.created || (a.created === b.created && a.name > b.name);
}

function requestCommonName(request: string | undefined): string | undefined {
  if (!request) return undefined;
  try {
    const block = decodePem(decodeBase64Text(request), "CSR")
      .find((b) => b.label.endsWith("CERTIFICATE REQUEST"));
    if (!block) return undefined;
    try {
      return readCsrSubject(block.der).field("CN")[0];
    } catch {
      // an encoding the DER reader rejects: @peculiar/x509 reads it as before
      return new x509.Pkcs10CertificateRequest(block.der).subjectName.getField("CN")[0];
    }
  } catch {
    return undefined;
  }
}

/** Decodes base64 (the API's encoding of `[]byte` fields) to text; PEM text is passed through. */
export function decodeBase64Text(value: string): string {
  if (value.includes("-----BEGIN")) return value;
  const binary = atob(value.replace(/\s+/g, ""));
  if (!NOT_ASCII.test(binary)) return binary; // PEM text: its bytes are its characters
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** Any character outside ASCII: its bytes are UTF-8 to decode. */
const NOT_ASCII = /[^\p{ASCII}]/u;

/** Encodes text as base64 (the API's encoding of `[]byte` fields). */
export function encodeBase64Text(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
