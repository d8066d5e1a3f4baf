/**
 * Fills a test cluster for the kubelet verifier bench: `N` kwok-managed Node objects
 * (`kwok-node-<i>`, no emulated kubelet) and, for each, a kubelet client CSR (CN
 * `system:node:kwok-node-<i>`, signer `kubernetes.io/kube-apiserver-client-kubelet`) approved so
 * that the controller-manager signs it. Then:
 *
 *   BENCH_KUBECONFIG=<admin.conf> deno bench -A bench/kubelet_verifier_bench.ts
 *
 * Usage: deno run -A bench/populate_kwok_nodes.ts <kubeconfig> [N=1000]
 * @module
 */
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { createNodeClientCsr } from "../src/pki/mod.ts";
import { approveCsr } from "../src/kubelet/csr_wait.ts";
import { encodeBase64Text, KUBELET_CLIENT_SIGNER, mapLimit } from "../src/kubelet/mod.ts";

const [kubeconfig, count = "1000"] = Deno.args;
if (!kubeconfig) throw new Error("usage: populate_kwok_nodes.ts <kubeconfig> [N]");
const config = loadKubeConfig({ kubeconfig });
const cluster = new KubeClusterApi(config);
const names = Array.from({ length: Number(count) }, (_, i) => `kwok-node-${i}`);
const started = Date.now();
// one key for every CSR: the bench is about the verifier, not key generation
const keys = await crypto.subtle.generateKey(
  { name: "ECDSA", namedCurve: "P-256" },
  true,
  ["sign", "verify"],
);

await mapLimit(names, 32, async (name) => {
  if (!await cluster.read({ apiVersion: "v1", kind: "Node", name })) {
    await cluster.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: { type: "kwok", "kubernetes.io/hostname": name },
      },
    });
  }
  const csrName = `bench-${name}`;
  if (
    !await cluster.read({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      name: csrName,
    })
  ) {
    const { csrPem } = await createNodeClientCsr(name, keys);
    await cluster.create({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: csrName },
      spec: {
        request: encodeBase64Text(csrPem),
        signerName: KUBELET_CLIENT_SIGNER,
        usages: ["digital signature", "client auth"],
      },
    });
    await approveCsr(config, csrName, "Bench", "kubelet verifier bench");
  }
});
console.error(`${names.length} nodes and CSRs in ${((Date.now() - started) / 1000).toFixed(1)}s`);
