/**
 * Fills a bench cluster: kwok-managed Node objects (`kwok-node-<i>`, no emulated kubelet), each
 * with an approved kubelet client CSR (CN `system:node:kwok-node-<i>`) that the
 * controller-manager signs; and Deployments (`bench-<i>` in namespaces `bench-<j>`). Creation is
 * idempotent (an existing object is kept), 32 requests at once.
 *
 * Usage: deno run -A bench/populate.ts <kubeconfig> nodes <N>
 *        deno run -A bench/populate.ts <kubeconfig> deployments <N> <namespaces> [replicas=0]
 * @module
 */
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { apiStatus, type KubeObject } from "../src/kube/objects.ts";
import { createNodeClientCsr } from "../src/pki/mod.ts";
import { approveCsr } from "../src/kubelet/csr_wait.ts";
import { encodeBase64Text, KUBELET_CLIENT_SIGNER, mapLimit } from "../src/kubelet/mod.ts";

const CONCURRENCY = 32;

/**
 * `fn`, tried again (up to 5 times, 1 s apart) when the request did not get an answer: an API
 * server on a loaded machine sometimes closes a connection mid-fill.
 */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (apiStatus(error) !== undefined || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function createIfAbsent(cluster: KubeClusterApi, object: KubeObject): Promise<boolean> {
  try {
    await retried(() => cluster.create(object));
    return true;
  } catch (error) {
    if (apiStatus(error) === 409) return false;
    throw error;
  }
}

/** `count` kwok nodes `kwok-node-<i>`, each with an approved kubelet client CSR. */
export async function populateKwokNodes(kubeconfig: string, count: number): Promise<void> {
  const config = loadKubeConfig({ kubeconfig });
  const cluster = new KubeClusterApi(config);
  // one key for every CSR: the bench is about the verifier, not key generation
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  await mapLimit(names, CONCURRENCY, async (name) => {
    await createIfAbsent(cluster, {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: { type: "kwok", "kubernetes.io/hostname": name },
      },
    });
    const csrName = `bench-${name}`;
    const { csrPem } = await createNodeClientCsr(name, keys);
    await createIfAbsent(cluster, {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: csrName },
      spec: {
        request: encodeBase64Text(csrPem),
        signerName: KUBELET_CLIENT_SIGNER,
        usages: ["digital signature", "client auth"],
      },
    });
    // approved whether created now or before (a retried create may find its own first try)
    await retried(() => approveCsr(config, csrName, "Bench", "kubelet verifier bench"));
  });
}

/** The namespaces `bench-<j>` and `count` Deployments spread over them (round robin). */
export async function populateDeployments(
  kubeconfig: string,
  count: number,
  namespaces: number,
  replicas = 0,
): Promise<void> {
  const cluster = new KubeClusterApi(loadKubeConfig({ kubeconfig }));
  const spaces = Array.from({ length: namespaces }, (_, j) => `bench-${j}`);
  await mapLimit(
    spaces,
    CONCURRENCY,
    (name) => createIfAbsent(cluster, { apiVersion: "v1", kind: "Namespace", metadata: { name } }),
  );
  const items = Array.from({ length: count }, (_, i) => i);
  await mapLimit(items, CONCURRENCY, (i) => {
    const app = `bench-${i}`;
    return createIfAbsent(cluster, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: app, namespace: spaces[i % namespaces] },
      spec: {
        replicas,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: {
            containers: [{ name: "app", image: `registry.example/${app}:1` }],
          },
        },
      },
    });
  });
}

if (import.meta.main) {
  const [kubeconfig, what, count, namespaces = "100", replicas = "0"] = Deno.args;
  const started = Date.now();
  if (what === "nodes" && count) await populateKwokNodes(kubeconfig, Number(count));
  else if (what === "deployments" && count) {
    await populateDeployments(kubeconfig, Number(count), Number(namespaces), Number(replicas));
  } else {
    throw new Error(
      "usage: populate.ts <kubeconfig> nodes <N> | deployments <N> <namespaces> [replicas]",
    );
  }
  console.error(`${count} ${what} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
