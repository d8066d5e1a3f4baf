/**
 * What the end-to-end rotation tests (local driver and ssh) share: running ca-rotator as an
 * operator would, and the checks of a finished rotation — every API server serves a chain to
 * the new CA and not to the old one, no node file holds the old CA, the old CAs are pruned from
 * extension-apiserver-authentication, kube-root-ca.crt and cluster-info hold the new CA only,
 * and the kubelets never failed for want of trust.
 * @module
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { TestCluster } from "../cluster/harness.ts";
import type { KubeletStatus } from "../cluster/kubelet_status.ts";
import { nodeFiles } from "./fixtures.ts";
import { assertExit, runCaRotator, type RunResult } from "./ca_rotator_process.ts";

export { assertExit, type RunResult };

/** Runs ca-rotator as an operator would, with the cluster's environment. */
export function caRotator(cluster: TestCluster, args: string[]): Promise<RunResult> {
  return runCaRotator(cluster.env, args);
}

/** What the tests read of a dry run's JSON document. */
export interface DryRunDocument {
  readonly steps: { readonly stepId: string }[];
  readonly summary: { files: number; objects: number; restarts: number; workloads: number };
}

/** The arguments of `rotate --dry-run --output json` of `planPath`. */
export function dryRunJsonArgs(planPath: string): string[] {
  return ["rotate", "--plan", planPath, "--dry-run", "--output", "json"];
}

/** Runs `rotate --dry-run --output json` of `planPath`; its exit must be 0. The result and the document. */
export async function dryRunJson(
  cluster: TestCluster,
  planPath: string,
): Promise<{ result: RunResult; document: DryRunDocument }> {
  const result = await caRotator(cluster, dryRunJsonArgs(planPath));
  assertExit(result, 0, "rotate --dry-run");
  return { result, document: JSON.parse(result.stdout) };
}

/** True when a TLS handshake with `host:port` verifies against `caPem` alone. */
export async function servesChainTo(host: string, port: number, caPem: string): Promise<boolean> {
  try {
    const conn = await Deno.connectTls({ hostname: host, port, caCerts: [caPem] });
    try {
      await conn.handshake();
      return true;
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/** The base64 body of a PEM certificate, without armour or whitespace. */
export function base64Body(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
}

/** Does this file text hold the certificate `pem`, as PEM or inside base64 kubeconfig data? */
export function holdsCertificate(text: string, pem: string): boolean {
  const body = base64Body(pem);
  if (text.replace(/\s+/g, "").includes(body)) return true;
  for (const match of text.matchAll(/-data:\s*([A-Za-z0-9+/=]+)/g)) {
    try {
      if (base64Body(atob(match[1])).includes(body)) return true;
    } catch {
      // not base64
    }
  }
  return false;
}

/** Every kubelet's status file (control plane and workers). */
export async function kubeletStatuses(cluster: TestCluster): Promise<KubeletStatus[]> {
  const names = [...cluster.nodes, ...cluster.workers].map((node) => node.name);
  return await Promise.all(names.map((name) => cluster.kubeletStatus(name)));
}

/** The CAs before the rotation and the new cluster CA. */
export interface RotatedCas {
  readonly oldCa: string;
  readonly oldFrontProxyCa: string;
  readonly newCa: string;
}

/**
 * The end state of a finished rotation: every API server (and the load balancer) serves a
 * chain to the new CA and not to the old one; no node file holds the old CA;
 * extension-apiserver-authentication holds neither old CA; every kube-root-ca.crt and
 * cluster-info hold the new CA only. `backups` are node paths (relative to a node root) that keep
 * the state of before the rotation on purpose, as an etcd snapshot does.
 */
export async function assertOldCaGone(
  cluster: TestCluster,
  cas: RotatedCas,
  backups: readonly string[] = [],
): Promise<void> {
  const { oldCa, oldFrontProxyCa, newCa } = cas;
  const hosts = [...cluster.nodes.map((node) => node.ip), new URL(cluster.endpoint).hostname];
  for (const host of hosts) {
    assert.ok(await servesChainTo(host, 6443, newCa), `${host}: new CA`);
    assert.ok(!(await servesChainTo(host, 6443, oldCa)), `${host}: not the old CA`);
  }
  const files = await nodeFiles([...cluster.nodeRoots, ...cluster.workerRoots]);
  const holders = [...files].filter(([path, text]) =>
    !backups.some((backup) => path.endsWith(`/${backup}`)) && holdsCertificate(text, oldCa)
  ).map(([path]) => path);
  assert.deepEqual(holders, [], "no node file holds the old CA");
  const authentication = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "configmap", "extension-apiserver-authentication", "-n", "kube-system"],
  );
  assert.ok(
    !holdsCertificate(authentication.data["client-ca-file"], oldCa),
    "extension-apiserver-authentication: no old cluster CA",
  );
  assert.ok(
    !holdsCertificate(authentication.data["requestheader-client-ca-file"], oldFrontProxyCa),
    "extension-apiserver-authentication: no old front-proxy CA",
  );
  const roots = await cluster.kubectlJson<
    { items: { metadata: { namespace: string }; data: Record<string, string> }[] }
  >(
    ["get", "configmaps", "-A", "--field-selector", "metadata.name=kube-root-ca.crt"],
  );
  for (const item of roots.items) {
    assert.equal(
      base64Body(item.data["ca.crt"]),
      base64Body(newCa),
      `${item.metadata.namespace}: new CA only`,
    );
  }
  const clusterInfo = await cluster.kubectlJson<{ data: { kubeconfig: string } }>(
    ["get", "configmap", "cluster-info", "-n", "kube-public"],
  );
  const info = parseYaml(clusterInfo.data.kubeconfig) as {
    clusters: { cluster: Record<string, string> }[];
  };
  assert.equal(
    base64Body(atob(info.clusters[0].cluster["certificate-authority-data"])),
    base64Body(newCa),
  );
}

/**
 * No kubelet failed for want of trust (401 or TLS) between the two snapshots, and each kept
 * making requests; prints each kubelet's requests, failures and rotations.
 */
export function assertKubeletsKeptTrust(
  before: readonly KubeletStatus[],
  after: readonly KubeletStatus[],
): void {
  for (const status of after) {
    const earlier = before.find((each) => each.node === status.node)!;
    const delta = (kind: keyof KubeletStatus["failuresByKind"]) =>
      (status.failuresByKind[kind] ?? 0) - (earlier.failuresByKind[kind] ?? 0);
    const failures = Object.fromEntries(
      Object.keys(status.failuresByKind)
        .map((kind) => [kind, delta(kind as keyof KubeletStatus["failuresByKind"])])
        .filter(([, count]) => (count as number) > 0),
    );
    console.log(
      `kubelet ${status.node}: ${status.requests - earlier.requests} requests, ` +
        `${status.failures - earlier.failures} failures ${JSON.stringify(failures)}, ` +
        `${status.rotations} rotations`,
    );
    assert.equal(
      delta("unauthorized"),
      0,
      `${status.node}: 401s (last: ${status.lastErrorByKind?.unauthorized})`,
    );
    assert.equal(
      delta("tls"),
      0,
      `${status.node}: TLS failures (last: ${status.lastErrorByKind?.tls})`,
    );
    assert.ok(status.requests > earlier.requests, `${status.node} kept making requests`);
  }
}

/** The CAs before a rotation and the new CAs of a rotation rolled back. */
export interface RolledBackCas {
  readonly oldCa: string;
  readonly newCa: string;
  readonly newFrontProxyCa: string;
}

/**
 * The end state of a rollback: every API server (and the load balancer) serves a chain to the
 * old CA and not to the new one; no node file holds a new CA; extension-apiserver-authentication
 * holds neither new CA; every kube-root-ca.crt and cluster-info hold the old CA only; every node
 * is Ready.
 */
export async function assertNewCaGone(cluster: TestCluster, cas: RolledBackCas): Promise<void> {
  const { oldCa, newCa, newFrontProxyCa } = cas;
  const hosts = [...cluster.nodes.map((node) => node.ip), new URL(cluster.endpoint).hostname];
  for (const host of hosts) {
    assert.ok(await servesChainTo(host, 6443, oldCa), `${host}: old CA`);
    assert.ok(!(await servesChainTo(host, 6443, newCa)), `${host}: not the new CA`);
  }
  const files = await nodeFiles([...cluster.nodeRoots, ...cluster.workerRoots]);
  const holders = [...files]
    .filter(([, text]) => holdsCertificate(text, newCa) || holdsCertificate(text, newFrontProxyCa))
    .map(([path]) => path);
  assert.deepEqual(holders, [], "no node file holds a new CA");
  const authentication = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "configmap", "extension-apiserver-authentication", "-n", "kube-system"],
  );
  assert.ok(
    !holdsCertificate(authentication.data["client-ca-file"], newCa),
    "extension-apiserver-authentication: no new cluster CA",
  );
  assert.ok(
    !holdsCertificate(authentication.data["requestheader-client-ca-file"], newFrontProxyCa),
    "extension-apiserver-authentication: no new front-proxy CA",
  );
  const roots = await cluster.kubectlJson<
    { items: { metadata: { namespace: string }; data: Record<string, string> }[] }
  >(["get", "configmaps", "-A", "--field-selector", "metadata.name=kube-root-ca.crt"]);
  for (const item of roots.items) {
    assert.equal(
      base64Body(item.data["ca.crt"]),
      base64Body(oldCa),
      `${item.metadata.namespace}: kube-root-ca.crt holds the old CA only`,
    );
  }
  const clusterInfo = await cluster.kubectlJson<{ data: { kubeconfig: string } }>(
    ["get", "configmap", "cluster-info", "-n", "kube-public"],
  );
  const info = parseYaml(clusterInfo.data.kubeconfig) as {
    clusters: { cluster: Record<string, string> }[];
  };
  assert.equal(
    base64Body(atob(info.clusters[0].cluster["certificate-authority-data"])),
    base64Body(oldCa),
    "cluster-info holds the old CA only",
  );
  const nodes = await cluster.kubectlJson<
    {
      items: {
        metadata: { name: string };
        status: { conditions: { type: string; status: string }[] };
      }[];
    }
  >(["get", "nodes"]);
  for (const node of nodes.items) {
    assert.ok(
      node.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
      `${node.metadata.name} is Ready`,
    );
  }
}
