/**
 * Test fixtures of the verifier tests: an old and a new cluster CA (both CN "kubernetes", as in
 * a rotation), kubelet client certificates with chosen validity, and CSR objects as the API
 * returns them.
 * @module
 */
import {
  type CertificateFields,
  encodePem,
  generateCa,
  type GeneratedCa,
  issueCertificate,
  readCertificateFieldsPem,
} from "../pki/mod.ts";
import { type CsrObject, encodeBase64Text, KUBELET_CLIENT_SIGNER } from "./csr_index.ts";
import type { SignerReport } from "./signer.ts";

/** The CAs of a rotation: both named "kubernetes". */
export interface Cas {
  old: GeneratedCa;
  new: GeneratedCa;
  other: GeneratedCa;
}

/** Generates an old, a new and an unrelated CA (ECDSA, for speed). */
export async function makeCas(): Promise<Cas> {
  const [old, fresh, other] = await Promise.all([
    generateCa({ keyType: "ecdsa-p256" }),
    generateCa({ keyType: "ecdsa-p256" }),
    generateCa({ keyType: "ecdsa-p256", commonName: "someone-else" }),
  ]);
  return { old, new: fresh, other };
}

/** A shared key pair for leaf certificates (their key does not matter to the verifier). */
let leafKeys: Promise<CryptoKeyPair> | undefined;

/** Issues a kubelet client certificate for `node` valid from `notBefore` to `notAfter`. */
export async function kubeletCert(
  ca: GeneratedCa,
  node: string,
  notBefore: Date,
  notAfter: Date,
  commonName = `system:node:${node}`,
): Promise<CertificateFields> {
  leafKeys ??= crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;
  const keys = await leafKeys;
  const issued = await issueCertificate({
    ca,
    commonName,
    organizations: ["system:nodes"],
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
  });
  return readCertificateFieldsPem(issued.certPem);
}

/** A certificate as PEM text. */
export function certificatePemOf(cert: CertificateFields): string {
  return encodePem("CERTIFICATE", cert.der);
}

/** A CSR object as listed from the API. */
export function csrObject(options: {
  name: string;
  node: string;
  created: Date;
  state: "pending" | "issued" | "denied";
  certPem?: string;
  username?: string;
}): CsrObject {
  const conditions = options.state === "pending"
    ? []
    : options.state === "denied"
    ? [{ type: "Denied", status: "True", reason: "Nope", message: "denied by test" }]
    : [{ type: "Approved", status: "True", reason: "AutoApproved" }];
  return {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name: options.name, creationTimestamp: options.created },
    spec: {
      request: "",
      signerName: KUBELET_CLIENT_SIGNER,
      username: options.username ?? `system:node:${options.node}`,
      usages: ["digital signature", "client auth"],
    },
    status: {
      conditions,
      ...(options.certPem ? { certificate: encodeBase64Text(options.certPem) } : {}),
    },
  };
}

/** A signer report with one control-plane node in `state`. */
export function signerIn(state: "new" | "old" | "unknown" | "mixed"): SignerReport {
  return {
    state,
    signingDurationMs: 600_000,
    nodes: state === "unknown" ? [] : [{
      node: "control-plane-1",
      ca: state === "mixed" ? "new" : state,
      certFile: "/etc/kubernetes/pki/ca.crt",
      duration: "10m",
      durationMs: 600_000,
    }],
  };
}

/** A fixed instant and offsets from it in seconds. */
export const T0 = Date.parse("2025-06-01T00:00:00Z");

/** `T0 + seconds`. */
export function at(seconds: number): Date {
  return new Date(T0 + seconds * 1000);
}
