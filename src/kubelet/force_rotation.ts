/**
 * Forces a kubelet client-certificate rotation through node access, as the kubelet's certificate
 * manager would do it: a new ECDSA P-256 key and CSR (CN `system:node:<name>`, O `system:nodes`),
 * sent as the node itself (so the controller-manager auto-approves it as a node renewing its own
 * certificate), approved by ca-rotator when it is not, the issued certificate and key installed as
 * `kubelet-client-<timestamp>.pem` and `kubelet-client-current.pem`, the kubelet restarted.
 * @module
 */
import { posix } from "node:path";
import { apiStatus, type ClientCredentials, type ClusterApi } from "../engine/cluster_api.ts";
import { kubeconfigClientCert, setKubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import type { Printer } from "../engine/printer.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { certificateAndKey, createNodeClientCsr, parseCertificate } from "../pki/mod.ts";
import {
  type CsrObject,
  csrState,
  decodeBase64Text,
  encodeBase64Text,
  KUBELET_CLIENT_SIGNER,
} from "./csr_index.ts";
import { approveCsr, waitForCsr } from "./csr_wait.ts";
import { CURRENT_CLIENT_PEM, type KubeletPaths } from "./node_facts.ts";
import type { ForcedRotationRecord } from "./report.ts";

/** Options of {@link forceRotation}. */
export interface ForceRotationOptions {
  /** The API with ca-rotator's (admin) credentials. */
  readonly cluster: ClusterApi;
  readonly node: NodeAccess;
  readonly paths: KubeletPaths;
  readonly printer: Printer;
  /** How long the controller-manager has to approve before ca-rotator approves. Default 10 s. */
  readonly approvalGraceMs?: number;
  /** How long to wait for the certificate in all. Default 2 min. */
  readonly timeoutMs?: number;
  /** The clock (file and CSR names). */
  readonly now?: () => Date;
}

/** The usages the kubelet asks for with an ECDSA key. */
const USAGES = ["digital signature", "client auth"];

/**
 * Gives `node`'s kubelet a new client certificate from the current signer (after the switch: the
 * new CA) and restarts it.
 * @throws {Error} when the CSR is denied or fails, no certificate comes in time, or the kubelet
 * cannot be restarted.
 */
export async function forceRotation(options: ForceRotationOptions): Promise<ForcedRotationRecord> {
  const { node, paths, printer } = options;
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = Date.now();
  const stamp = kubeletTimestamp(now());
  const { csrPem, keyPem } = await createNodeClientCsr(node.name);
  const name = `ca-rotator-${node.name}-${stamp}`.slice(0, 253);
  const object: CsrObject = {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "ca-rotator" } },
    spec: { request: encodeBase64Text(csrPem), signerName: KUBELET_CLIENT_SIGNER, usages: USAGES },
  };

  // As the node, so the controller-manager's csrapproving controller approves it itself.
  const admin = options.cluster.kubeConfig;
  const credentials = await readNodeCredentials(node, paths);
  let requester = "ca-rotator";
  if (credentials) {
    try {
      await options.cluster.asClient(credentials).create(object);
      requester = `system:node:${node.name}`;
    } catch (error) {
      printer.warn(
        `${node.name}: cannot create the CSR as the node (${errorText(error)}); creating it ` +
          "with ca-rotator's credentials",
      );
    }
  }
  if (requester === "ca-rotator") await options.cluster.create(object);
  printer.info(`${node.name}: created CSR ${name} as ${requester}`);

  const decided = (csr: CsrObject) => csrState(csr) !== "pending";
  let csr = await waitForCsr(admin, name, decided, options.approvalGraceMs ?? 10_000);
  let approvedBy: ForcedRotationRecord["approvedBy"] = "controller-manager";
  if (!csr) {
    printer.info(`${node.name}: CSR ${name} not auto-approved; approving it`);
    await approveCsr(
      admin,
      name,
      "CaRotatorForcedRotation",
      `ca-rotator forced the client-certificate rotation of node ${node.name}`,
    );
    approvedBy = "ca-rotator";
  }
  const remaining = Math.max(1000, timeoutMs - (Date.now() - started));
  csr = await waitForCsr(admin, name, (c) => csrState(c) !== "approved" && decided(c), remaining);
  if (!csr) throw new Error(`${node.name}: CSR ${name} got no certificate within ${timeoutMs} ms`);
  const state = csrState(csr);
  if (state !== "issued") {
    const condition = csr.status?.conditions?.find((c) =>
      c.type === "Denied" || c.type === "Failed"
    );
    throw new Error(
      `${node.name}: CSR ${name} was ${state}` +
        (condition ? ` (${[condition.reason, condition.message].filter(Boolean).join(": ")})` : ""),
    );
  }
  const certPem = decodeBase64Text(csr.status!.certificate!);
  const cert = parseCertificate(certPem, `CSR ${name}`);

  const file = await installClientCertificate(node, paths, certPem, keyPem, stamp);
  const restart = await node.run(paths.kubeletRestart);
  if (restart.code !== 0) {
    throw new Error(
      `${node.name}: restarting the kubelet (${paths.kubeletRestart.join(" ")}) failed with ` +
        `exit code ${restart.code}: ${restart.stderr.trim()}`,
    );
  }
  printer.info(
    `${node.name}: installed ${file} (issuer "${cert.issuer}", valid until ` +
      `${cert.notAfter.toISOString()}) and restarted the kubelet`,
  );
  return { node: node.name, csr: name, approvedBy, file, notAfter: cert.notAfter };
}

/**
 * Writes the certificate and key as `kubelet-client-<stamp>.pem` (0600) and makes
 * `kubelet-client-current.pem` point at it: a symlink where the node can make one, the same
 * content on a local node root. A kubelet.conf with inline credentials is updated too.
 * Returns the new file's path.
 */
export async function installClientCertificate(
  node: NodeAccess,
  paths: KubeletPaths,
  certPem: string,
  keyPem: string,
  stamp: string,
): Promise<string> {
  const content = certPem.trimEnd() + "\n" + keyPem.trimEnd() + "\n";
  let file = posix.join(paths.kubeletPkiDir, `kubelet-client-${stamp}.pem`);
  for (let i = 1; await node.readFile(file) !== undefined; i++) {
    file = posix.join(paths.kubeletPkiDir, `kubelet-client-${stamp}-${i}.pem`);
  }
  const current = posix.join(paths.kubeletPkiDir, CURRENT_CLIENT_PEM);
  await node.writeFile(file, content, { mode: 0o600 });
  if (node.link) await node.link(file, current);
  else await node.writeFile(current, content, { mode: 0o600 });
  const kubeconfig = await node.readFile(paths.kubeletKubeconfig);
  if (kubeconfig !== undefined) {
    const user = kubeconfigClientCert(kubeconfig, paths.kubeletKubeconfig);
    if (user.certPem) {
      await node.writeFile(
        paths.kubeletKubeconfig,
        setKubeconfigClientCert(kubeconfig, certPem, keyPem, paths.kubeletKubeconfig),
        { mode: 0o600 },
      );
    }
  }
  return file;
}

/**
 * The kubelet's current client credentials, when they exist and are valid now: the rotated PEM
 * (certificate and key in one file), else kubelet.conf's user.
 */
export async function readNodeCredentials(
  node: NodeAccess,
  paths: KubeletPaths,
  at: Date = new Date(),
): Promise<ClientCredentials | undefined> {
  const fromText = (certText?: string, keyText?: string): ClientCredentials | undefined => {
    const certPem = certText && certificateAndKey(certText).certPem;
    const keyPem = keyText && certificateAndKey(keyText).keyPem;
    if (!certPem || !keyPem) return undefined;
    try {
      const cert = parseCertificate(certPem);
      if (at < cert.notBefore || at > cert.notAfter) return undefined;
    } catch {
      return undefined;
    }
    return { certPem, keyPem };
  };
  try {
    const current = await node.readFile(posix.join(paths.kubeletPkiDir, CURRENT_CLIENT_PEM));
    const fromCurrent = fromText(current, current);
    if (fromCurrent) return fromCurrent;
    const kubeconfig = await node.readFile(paths.kubeletKubeconfig);
    if (kubeconfig === undefined) return undefined;
    const user = kubeconfigClientCert(kubeconfig, paths.kubeletKubeconfig);
    const certText = user.certPem ??
      (user.certFile ? await node.readFile(user.certFile) : undefined);
    const keyText = user.keyPem ?? (user.keyFile ? await node.readFile(user.keyFile) : undefined);
    return fromText(certText, keyText);
  } catch {
    return undefined;
  }
}

/** The kubelet's file-name timestamp, `2006-01-02-15-04-05` (UTC). */
export function kubeletTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[T:]/g, "-");
}

function errorText(error: unknown): string {
  const status = apiStatus(error);
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return status ? `HTTP ${status}` : message;
}
