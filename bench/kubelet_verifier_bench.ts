/**
 * The kubelet verifier on 1,000 nodes: the report path (CSR index, certificate parsing, issuer
 * classification by signature, window assessment, verdicts, text and JSON rendering) on 1,000
 * kubelet client certificates held in memory, issued once up front by an RSA-2048 old and new
 * cluster CA as kubeadm makes them. Target: well under 5 s for 1,000 nodes.
 *
 * With `BENCH_KUBECONFIG` set (a cluster with many kwok nodes), it also measures a full
 * `observeKubelets` against that API server (nodes and CSRs listed, no node access).
 * @module
 */
import { generateCa, issueCertificate } from "../src/pki/mod.ts";
import {
  buildReport,
  type CaTrust,
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

const NODES = 1000;
const now = new Date();
const HOUR = 3_600_000;

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

/** One issued CSR per node: a third on the new CA, the rest on the old one at varied ages. */
const csrs: CsrObject[] = await Promise.all(
  Array.from({ length: NODES }, async (_, i) => {
    const name = `kwok-node-${i}`;
    const age = (i % 100) * 0.9 * HOUR; // 0 … 89 % of a 100 h lifetime
    const notBefore = new Date(now.getTime() - age);
    const issued = await issueCertificate({
      ca: i % 3 === 0 ? newCa : oldCa,
      commonName: `system:node:${name}`,
      organizations: ["system:nodes"],
      publicKey: leafKeys.publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 100 * HOUR),
    });
    return {
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
    } satisfies CsrObject;
  }),
);

/** One verifier round on the in-memory CSRs; `trust` carries the per-certificate memo. */
async function round(trust: CaTrust): Promise<void> {
  const index = indexKubeletCsrs(csrs);
  const facts = [...index.keys()].map((name) =>
    nodeFacts({
      name,
      registered: true,
      rotation: { enabled: name.endsWith("7") ? false : true, source: "configz" },
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
  if (report.nodes.length !== NODES) throw new Error(`expected ${NODES} nodes`);
  renderReportText(report);
  renderReportJson(report);
}

Deno.bench({
  name: `report on ${NODES} nodes from in-memory CSRs (index, parse, classify, assess, render)`,
  n: 5,
  warmup: 1,
  async fn() {
    // a fresh trust: every certificate is classified by signature, as in a first round
    await round(caTrustFromPem(newCa.certPem, oldCa.certPem));
  },
});

const warmTrust = caTrustFromPem(newCa.certPem, oldCa.certPem);
await round(warmTrust);
Deno.bench({
  name: `a later round of a wait on ${NODES} nodes (issuers remembered by fingerprint)`,
  n: 5,
  warmup: 1,
  async fn() {
    await round(warmTrust);
  },
});

const kubeconfig = Deno.env.get("BENCH_KUBECONFIG");
Deno.bench({
  name: "observeKubelets against BENCH_KUBECONFIG's API server (kwok nodes)",
  ignore: !kubeconfig,
  n: 3,
  async fn() {
    const report = await observeKubelets({
      cluster: new KubeClusterApi(loadKubeConfig({ kubeconfig })),
      caBundle: Deno.env.get("BENCH_CA_BUNDLE")
        ? await Deno.readTextFile(Deno.env.get("BENCH_CA_BUNDLE")!)
        : newCa.certPem + oldCa.certPem,
      configz: false,
      printer: memoryPrinter(),
    });
    if (report.nodes.length === 0) throw new Error("no nodes");
  },
});
