/**
 * What the serving-certificate gate reads and does: each Node's kubelet TLS endpoint (the
 * issuer of the leaf it presents, found by handshakes that trust one CA at a time), the
 * `kubelet-server-current.pem` on the node (through node access), the pending kubelet-serving
 * CSRs and their approval under the careful approver's check, and a forced rotation: a new key
 * and CSR for the Node's own names, approved under the same check, installed, the kubelet
 * restarted.
 * @module
 */
import { posix } from "node:path";
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import {
  approveCsr,
  type CaTrust,
  caTrustFromPem,
  classifyIssuer,
  type CsrObject,
  csrState,
  decodeBase64Text,
  encodeBase64Text,
  KUBELET_SERVING_SIGNER,
  kubeletTimestamp,
  nodeIdentity,
  type NodeObject,
  readNodeCredentials,
  servingCsrNode,
  servingCsrProblem,
  type ServingFacts,
  type ServingIssuer,
  waitForCsr,
} from "../kubelet/mod.ts";
import { certificateAndKey, createCsr, parseCertificate, parseCsr } from "../pki/mod.ts";
import { endpointUrl, probeServingChain } from "./_serving_chain.ts";
import { errorText } from "./_watch_object.ts";

/** The file the kubelet's server certificate manager keeps its current certificate and key in. */
export const CURRENT_SERVER_PEM = "kubelet-server-current.pem";

/** The CAs the gate tells apart: PEM texts of the new and the old cluster CA. */
export interface ServingTrust {
  readonly newPem: string;
  readonly oldPem?: string;
  readonly trust: CaTrust;
}

/** The trust from the new CA and the old one (absent once the old CA is gone). */
export function servingTrust(newPem: string, oldPem?: string): ServingTrust {
  return { newPem, oldPem, trust: caTrustFromPem(newPem, oldPem) };
}

/** The kubelet endpoint a Node publishes: its InternalIP (else ExternalIP) and kubelet port. */
export function kubeletEndpoint(node: NodeObject): { host: string; port: number } | undefined {
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const addresses = node.status?.addresses ?? [];
  const address = addresses.find((a) => a.type === "InternalIP")?.address ??
    addresses.find((a) => a.type === "ExternalIP")?.address;
  if (!port || !address) return undefined;
  return { host: address, port };
}

const CERTIFICATE_ERROR = /certificate|UnknownIssuer|BadSignature|NotValidForName/i;

/** The issuer of the leaf `endpoint` presents: a handshake trusting the new CA, then the old. */
export async function endpointIssuer(
  endpoint: { host: string; port: number },
  trust: ServingTrust,
): Promise<{ issuer?: ServingIssuer; error?: string }> {
  const target = { ...endpoint, url: endpointUrl(endpoint.host, endpoint.port), source: "kubelet" };
  const withNew = await probeServingChain(target, trust.newPem, { timeoutMs: 3000 });
  if (withNew.ok) return { issuer: "new" };
  if (!CERTIFICATE_ERROR.test(withNew.error ?? "")) return { error: withNew.error };
  if (trust.oldPem) {
    const withOld = await probeServingChain(target, trust.oldPem, { timeoutMs: 3000 });
    if (withOld.ok) return { issuer: "old" };
  }
  return { issuer: "other", error: withNew.error };
}

/** The issuer of `kubelet-server-current.pem` on the node; `undefined` when absent or unreadable. */
export async function fileIssuer(
  node: NodeAccess,
  pkiDir: string,
  trust: ServingTrust,
): Promise<ServingIssuer | undefined> {
  try {
    const text = await node.readFile(posix.join(pkiDir, CURRENT_SERVER_PEM));
    if (text === undefined) return undefined;
    const { certPem } = certificateAndKey(text);
    if (!certPem) return undefined;
    const issuer = await classifyIssuer(parseCertificate(certPem), trust.trust);
    return issuer === "unknown" ? "other" : issuer;
  } catch {
    return undefined;
  }
}

/** The kubelet-serving CSRs of the cluster. */
export async function servingCsrs(ctx: StepContext): Promise<CsrObject[]> {
  return (await ctx.cluster.list<CsrObject>("certificates.k8s.io/v1", "CertificateSigningRequest"))
    .filter((csr) => csr.spec?.signerName === KUBELET_SERVING_SIGNER);
}

/** The Nodes of the cluster, by name. */
export async function nodesByName(ctx: StepContext): Promise<Map<string, NodeObject>> {
  const nodes = await ctx.cluster.list<NodeObject>("v1", "Node");
  return new Map(nodes.map((n) => [n.metadata?.name ?? "", n]));
}

/** What the gate sees of every Node. */
export async function gatherServingFacts(
  ctx: StepContext,
  nodes: Map<string, NodeObject>,
  csrs: readonly CsrObject[],
  trust: ServingTrust,
): Promise<ServingFacts[]> {
  const access = new Map([...ctx.controlPlane, ...ctx.workers].map((n) => [n.name, n]));
  const pending = (name: string) =>
    csrs.filter((c) => servingCsrNode(c) === name && csrState(c) === "pending")
      .map((c) => c.metadata?.name ?? "");
  return await Promise.all(
    [...nodes.keys()].sort().map(async (name) => {
      const endpoint = kubeletEndpoint(nodes.get(name)!);
      const seen = endpoint ? await endpointIssuer(endpoint, trust) : {};
      const node = access.get(name);
      const file = node ? await fileIssuer(node, ctx.layout.kubeletPkiDir, trust) : undefined;
      return {
        node: name,
        ...(endpoint ? { endpoint: `${endpoint.host}:${endpoint.port}` } : {}),
        ...(seen.issuer ? { endpointIssuer: seen.issuer } : {}),
        ...(seen.error ? { endpointError: seen.error } : {}),
        ...(file ? { fileIssuer: file } : {}),
        pendingCsrs: pending(name),
      };
    }),
  );
}

/** The outcome of the approver's look at one pending CSR. */
export interface ApprovalDecision {
  readonly csr: string;
  readonly node?: string;
  /** Why it is not approved; `undefined`: it passes the check. */
  readonly problem?: string;
}

/**
 * The careful approver's decision on each pending kubelet-serving CSR; `forced` names the CSRs
 * ca-rotator sent itself for a forced rotation (their requester may be ca-rotator).
 */
export async function approvalDecisions(
  csrs: readonly CsrObject[],
  nodes: Map<string, NodeObject>,
  forced: ReadonlySet<string> = new Set(),
): Promise<ApprovalDecision[]> {
  const decisions: ApprovalDecision[] = [];
  for (const csr of csrs) {
    if (csrState(csr) !== "pending") continue;
    const name = csr.metadata?.name ?? "";
    const ours = forced.has(name);
    const nodeName = servingCsrNode(csr) ??
      (ours ? csr.metadata?.labels?.[FORCED_NODE_LABEL] : undefined);
    const node = nodeName ? nodes.get(nodeName) : undefined;
    if (!nodeName || !node) {
      decisions.push({
        csr: name,
        ...(nodeName ? { node: nodeName } : {}),
        problem: nodeName
          ? `no Node named ${nodeName}`
          : `requested by "${csr.spec?.username ?? ""}", not a node`,
      });
      continue;
    }
    let problem: string | undefined;
    try {
      const request = await parseCsr(decodeBase64Text(csr.spec?.request ?? ""), `CSR ${name}`);
      problem = servingCsrProblem(
        {
          signerName: csr.spec?.signerName,
          username: csr.spec?.username,
          groups: csr.spec?.groups,
          usages: csr.spec?.usages,
          request,
        },
        nodeIdentity(node),
        ours,
      );
    } catch (error) {
      problem = errorText(error);
    }
    decisions.push({ csr: name, node: nodeName, ...(problem ? { problem } : {}) });
  }
  return decisions;
}

/** Approves one CSR that passed the check, as `kubectl certificate approve` would. */
export async function approveServingCsr(ctx: StepContext, decision: ApprovalDecision) {
  await approveCsr(
    ctx.cluster.kubeConfig,
    decision.csr,
    "CaRotatorServingApproval",
    `ca-rotator (step ${ctx.stepId}) checked that it asks only for the names and addresses of ` +
      `Node ${decision.node}`,
  );
}

/** The label naming the node of a CSR ca-rotator sends for a forced serving rotation. */
export const FORCED_NODE_LABEL = "ca-rotator.dev/serving-node";

/**
 * Sends a kubelet-serving CSR for `node` (a new ECDSA P-256 key; CN `system:node:<name>`, O
 * `system:nodes`, the Node's own names and addresses), as the node where its credentials allow.
 * Returns the CSR's name and the key, which stays in memory until {@link installServingCertificate}.
 */
export async function requestServingCertificate(
  ctx: StepContext,
  node: NodeAccess,
  object: NodeObject,
): Promise<{ name: string; keyPem: string; requester: string }> {
  const identity = nodeIdentity(object);
  const { csrPem, keyPem } = await createCsr({
    commonName: `system:node:${node.name}`,
    organizations: ["system:nodes"],
    dnsNames: [...identity.dnsNames],
    ipAddresses: [...identity.ipAddresses],
  });
  const name = `ca-rotator-serving-${node.name}-${kubeletTimestamp(new Date())}`.slice(0, 253);
  const csr: CsrObject = {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: {
      name,
      labels: { "app.kubernetes.io/managed-by": "ca-rotator", [FORCED_NODE_LABEL]: node.name },
    },
    spec: {
      request: encodeBase64Text(csrPem),
      signerName: KUBELET_SERVING_SIGNER,
      usages: ["digital signature", "server auth"],
    },
  };
  const credentials = await readNodeCredentials(node, {
    kubeletConfig: ctx.layout.kubeletConfig,
    kubeletKubeconfig: ctx.layout.kubeletKubeconfig,
    kubeletPkiDir: ctx.layout.kubeletPkiDir,
    kubeletRestart: ctx.layout.kubeletRestart,
    manifestsDir: ctx.layout.manifestsDir,
  });
  if (credentials) {
    try {
      await ctx.cluster.asClient(credentials).create(csr);
      return { name, keyPem, requester: `system:node:${node.name}` };
    } catch (error) {
      ctx.log.warn(
        `${node.name}: cannot send the CSR as the node (${errorText(error)}); sending it with ` +
          "ca-rotator's credentials",
      );
    }
  }
  await ctx.cluster.create(csr);
  return { name, keyPem, requester: "ca-rotator" };
}

/**
 * Waits for the certificate of an approved CSR, writes it with its key as
 * `kubelet-server-<time>.pem` (0600), points `kubelet-server-current.pem` at it and restarts the
 * kubelet, whose server certificate manager loads it at start.
 */
export async function installServingCertificate(
  ctx: StepContext,
  node: NodeAccess,
  csrName: string,
  keyPem: string,
  timeoutMs: number,
): Promise<string> {
  const csr = await waitForCsr(
    ctx.cluster.kubeConfig,
    csrName,
    (c) => csrState(c) === "issued" || csrState(c) === "denied" || csrState(c) === "failed",
    timeoutMs,
  );
  if (!csr || csrState(csr) !== "issued") {
    throw new Error(
      `${node.name}: CSR ${csrName} ${
        csr ? `was ${csrState(csr)}` : `got no certificate within ${timeoutMs / 1000}s`
      }`,
    );
  }
  const certPem = decodeBase64Text(csr.status!.certificate!);
  const dir = ctx.layout.kubeletPkiDir;
  let file = posix.join(dir, `kubelet-server-${kubeletTimestamp(new Date())}.pem`);
  for (let i = 1; await node.readFile(file) !== undefined; i++) {
    file = posix.join(dir, `kubelet-server-${kubeletTimestamp(new Date())}-${i}.pem`);
  }
  const content = certPem.trimEnd() + "\n" + keyPem.trimEnd() + "\n";
  await node.writeFile(file, content, { mode: 0o600 });
  const current = posix.join(dir, CURRENT_SERVER_PEM);
  if (node.link) await node.link(file, current);
  else await node.writeFile(current, content, { mode: 0o600 });
  const restart = await node.run(ctx.layout.kubeletRestart);
  if (restart.code !== 0) {
    throw new Error(
      `${node.name}: restarting the kubelet (${ctx.layout.kubeletRestart.join(" ")}) failed ` +
        `with exit code ${restart.code}: ${restart.stderr.trim()}`,
    );
  }
  return file;
}
