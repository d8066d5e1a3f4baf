/**
 * A new client certificate for a kubeconfig's user through the CSR API: a new ECDSA P-256 key
 * made here (it never leaves this process but in the kubeconfig written), a CSR for the same
 * user name (CN) and groups (O) with signer `kubernetes.io/kube-apiserver-client`, approved
 * (as `kubectl certificate approve`) when the identity may approve for that signer, else left
 * for an administrator to approve; then the certificate the controller-manager signs (with its
 * `--cluster-signing-cert-file`: the new CA from the switch on). No CA key is read.
 * @module
 */
import { apiStatus } from "../engine/cluster_api.ts";
import type { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import type { Printer } from "../engine/printer.ts";
import {
  type CsrObject,
  csrState,
  decodeBase64Text,
  encodeBase64Text,
} from "../kubelet/csr_index.ts";
import { approveCsr, waitForCsr } from "../kubelet/csr_wait.ts";
import { createCsr, parseCertificate, type x509 } from "../pki/mod.ts";

/** The signer of client certificates for the API server (not kubelets). */
export const API_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client";

/** What to request. */
export interface ClientCertificateRequest {
  readonly commonName: string;
  readonly organizations: readonly string[];
  /** The API, with credentials that may create (and, best, approve) the CSR. */
  readonly cluster: KubeClusterApi;
  readonly printer: Printer;
  /** How long to wait for approval and certificate in all. */
  readonly timeoutMs: number;
  readonly now?: () => Date;
}

/** The issued certificate, its key (PEM: for the kubeconfig alone) and the CSR's name. */
export interface IssuedClientCertificate {
  readonly csr: string;
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly keyPem: string;
  /** Who approved it: this command, or someone else (an administrator, an approver). */
  readonly approvedBy: "ca-rotator" | "other";
}

/** `ci-bot@example` → `ci-bot-example`: a CSR name part. */
function namePart(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 200) || "user";
}

/**
 * Requests, approves (when allowed) and waits for a client certificate.
 * @throws {Error} when the CSR is denied or fails, or no certificate comes within the timeout.
 */
export async function requestClientCertificate(
  request: ClientCertificateRequest,
): Promise<IssuedClientCertificate> {
  const { cluster, printer } = request;
  const now = request.now ?? (() => new Date());
  const started = Date.now();
  const { csrPem, keyPem } = await createCsr({
    commonName: request.commonName,
    organizations: [...request.organizations],
    keyType: "ecdsa-p256",
  });
  const stamp = now().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "z").toLowerCase();
  const name = `ca-rotator-kubeconfig-${namePart(request.commonName)}-${stamp}`;
  const object: CsrObject = {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "ca-rotator" } },
    spec: {
      request: encodeBase64Text(csrPem),
      signerName: API_CLIENT_SIGNER,
      usages: ["digital signature", "client auth"],
    },
  };
  await cluster.create(object);
  printer.info(`created CertificateSigningRequest ${name} (signer ${API_CLIENT_SIGNER})`);
  const config = cluster.kubeConfig;
  let approvedBy: IssuedClientCertificate["approvedBy"] = "other";
  try {
    await approveCsr(
      config,
      name,
      "CaRotatorKubeconfig",
      `ca-rotator renewed the client certificate of ${request.commonName} for a CA rotation`,
    );
    approvedBy = "ca-rotator";
    printer.info(`approved ${name}`);
  } catch (error) {
    if (apiStatus(error) !== 403) throw error;
    printer.warn(
      `may not approve for ${API_CLIENT_SIGNER}: waiting for an administrator to run ` +
        `"kubectl certificate approve ${name}"`,
    );
  }
  const csr = await waitForCsr(
    config,
    name,
    (each) => !["pending", "approved"].includes(csrState(each)),
    Math.max(1000, request.timeoutMs - (Date.now() - started)),
  );
  if (!csr) {
    throw new Error(
      `CertificateSigningRequest ${name} got no certificate within ${request.timeoutMs / 1000} s`,
    );
  }
  const state = csrState(csr);
  if (state !== "issued") {
    const condition = csr.status?.conditions?.find((c) =>
      c.type === "Denied" || c.type === "Failed"
    );
    throw new Error(
      `CertificateSigningRequest ${name} was ${state}` +
        (condition ? ` (${[condition.reason, condition.message].filter(Boolean).join(": ")})` : ""),
    );
  }
  const certPem = decodeBase64Text(csr.status!.certificate!);
  return {
    csr: name,
    certPem,
    cert: parseCertificate(certPem, `CertificateSigningRequest ${name}`),
    keyPem,
    approvedBy,
  };
}
