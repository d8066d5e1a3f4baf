/**
 * The kubelet verifier on many nodes: the whole report path (CSR index, certificate parsing,
 * issuer classification by signature, window assessment, verdicts, text and JSON rendering) on
 * kubelet client certificates held in memory — issued up front by an RSA-2048 old and new cluster
 * CA, as kubeadm makes them — and `observeKubelets` against a real API server's kwok nodes and
 * their issued CSRs (nodes and CSRs listed, no node access).
 * @module
 */
import { generateCa, issueCertificate } from "../src/pki/mod.ts";
import {
  buildReport,
  caTrustFromPem,
  type CsrObject,
  encodeBase64Text,
  indexKubeletCsrs,
  KUBELET_CLIENT_SIGNER,
  nodeFacts,
  observeKubelets,
  renderReportJson,
  renderReportText,
  summarizeTrust,
} from "../src/kubelet/mod.ts";
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { memoryPrinter } from "../src/engine/printer.ts";
import { median, note } from "./_measure.ts";

const HOUR = 3_600_000;

/** Median milliseconds of a report over `nodes` in-memory CSRs (a fresh trust each time). */
export async function benchVerifierInMemory(nodes: number, repeats: number): Promise<number[]> {
  const now = new Date();
  const [oldCa, newCa] = await Promise.all([
    generateCa({ keyType: "rsa-2048" }),
    generateCa({ keyType: "rsa-2048" }),
  ]);
  const cas = await summarizeTrust(caTrustFromPem(newCa.certPem, oldCa.certPem));
  const leafKeys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  note(`verifier: issuing ${nodes} kubelet client certificates in memory`);
  const csrs: CsrObject[] = [];
  for (let i = 0; i < nodes; i++) {
    const name = `kwok-node-${i}`;
    const notBefore = new Date(now.getTime() - (i % 100) * 0.9 * HOUR);
    const issued = await issueCertificate({
      ca: i % 3 === 0 ? newCa : oldCa,
      commonName: `system:node:${name}`,
      organizations: ["system:nodes"],
      publicKey: leafKeys.publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 100 * HOUR),
    });
    csrs.push({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: `csr-${i}`, creationTimestamp: notBefore },
      spec: {
        request: "",
        signerName: KUBELET_CLIENT_SIGNER,
        username: `system:node:${name}`,
        usages: ["digital signature", "client auth"],
      },
      status: {
        conditions: [{ type: "Approved", status: "True", reason: "AutoApproveSelfNodeClient" }],
        certificate: encodeBase64Text(issued.certPem),
      },
    });
  }
  const runs: number[] = [];
  for (let round = 0; round < repeats; round++) {
    const started = performance.now();
    const trust = caTrustFromPem(newCa.certPem, oldCa.certPem); // every certificate classified
    const index = indexKubeletCsrs(csrs);
    const facts = [...index.keys()].map((name) =>
      nodeFacts({
        name,
        registered: true,
        rotation: { enabled: !name.endsWith("7"), source: "configz" },
        csrs: index.get(name),
      })
    );
    const report = await buildReport({
      facts,
      trust,
      cas,
      signer: { state: "new", nodes: [] },
      now,
      deadline: new Date(now.getTime() + 20 * HOUR),
    });
    if (report.nodes.length !== nodes) throw new Error(`expected ${nodes} nodes`);
    renderReportText(report);
    renderReportJson(report);
    runs.push(performance.now() - started);
  }
  return runs;
}

/** Milliseconds of `observeKubelets` against the API server, per run, and the nodes it saw. */
export async function benchVerifierApi(
  kubeconfig: string,
  caBundle: string,
  repeats: number,
): Promise<{ runs: number[]; nodes: number }> {
  const cluster = new KubeClusterApi(loadKubeConfig({ kubeconfig }));
  const runs: number[] = [];
  let nodes = 0;
  for (let round = 0; round < repeats; round++) {
    const started = performance.now();
    const report = await observeKubelets({
      cluster,
      caBundle,
      configz: false,
      printer: memoryPrinter(),
    });
    runs.push(performance.now() - started);
    nodes = report.nodes.length;
  }
  note(`verifier: API server: ${nodes} nodes, median ${(median(runs) / 1000).toFixed(2)} s`);
  return { runs, nodes };
}
