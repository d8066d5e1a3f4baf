/**
 * A kube-vip-like static pod on the test control plane: `kubectl proxy` started by the node's
 * static-pod runner with `--kubeconfig=/etc/kubernetes/admin.conf`, as kube-vip mounts admin.conf.
 * It reads the kubeconfig once, at start, and from then on talks to the API server (through the
 * load balancer) with the CA and client certificate it read: `GET http://<node>:<port>/api`
 * answers 200 only while the API server's chain verifies against that CA and it accepts that
 * certificate. Its manifest mounts admin.conf through a hostPath volume, which is what ca-rotator
 * finds it by.
 * @module
 */
import { join } from "node:path";
import { eventually, type TestCluster } from "../cluster/harness.ts";

/** One such pod: its name (metadata.name) and the port its proxy listens on. */
export interface KubeVipPod {
  readonly name: string;
  readonly port: number;
  /** An HTTP readiness probe through the proxy (`/readyz` of the API server). */
  readonly probe: boolean;
}

/** The manifest: kubeadm's static-pod form, admin.conf mounted read-only. */
export function kubeVipManifest(pod: KubeVipPod): string {
  const probe = pod.probe
    ? `    readinessProbe:
      httpGet: { host: 127.0.0.1, port: ${pod.port}, path: /readyz }
      periodSeconds: 1
`
    : "";
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${pod.name}
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: ${pod.name}
    image: example.invalid/kube-vip:v0.8.0
    command:
    - kubectl
    - proxy
    - --kubeconfig=/etc/kubernetes/admin.conf
    - --address=127.0.0.1
    - --port=${pod.port}
    - --accept-hosts=.*
${probe}    volumeMounts:
    - mountPath: /etc/kubernetes/admin.conf
      name: kubeconfig
  volumes:
  - hostPath:
      path: /etc/kubernetes/admin.conf
    name: kubeconfig
`;
}

/** The manifest's path in a node root. */
export function kubeVipManifestPath(root: string, pod: KubeVipPod): string {
  return join(root, `etc/kubernetes/manifests/${pod.name}.yaml`);
}

/** Writes the pod's manifest on the control-plane nodes given and waits until each runs. */
export async function deployKubeVip(
  cluster: TestCluster,
  pod: KubeVipPod,
  nodes: readonly number[],
): Promise<void> {
  for (const index of nodes) {
    await Deno.writeTextFile(
      kubeVipManifestPath(cluster.nodes[index].root, pod),
      kubeVipManifest(pod),
      { mode: 0o600 },
    );
  }
  for (const index of nodes) {
    await eventually(`${pod.name} running on ${cluster.nodes[index].name}`, async () => {
      const status = await cluster.componentStatus(index, pod.name);
      return status.state === "running" && status.ready &&
        (await proxyAnswer(cluster.nodes[index].ip, pod.port)).status === 200;
    }, 60_000);
  }
}

/** What `GET /api` through the pod's proxy on a node answers. */
export async function proxyAnswer(
  ip: string,
  port: number,
): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://${ip}:${port}/api`, {
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The pod's process on a control-plane node: started after admin.conf was last written (so it
 * holds what admin.conf holds now), its restarts, and the restart mark on its manifest.
 */
export async function kubeVipState(
  cluster: TestCluster,
  index: number,
  pod: KubeVipPod,
): Promise<{ readsCurrentAdminConf: boolean; restarts: number; mark: string | undefined }> {
  const root = cluster.nodes[index].root;
  const status = await cluster.componentStatus(index, pod.name);
  const written = (await Deno.stat(join(root, "etc/kubernetes/admin.conf"))).mtime!;
  const manifest = await Deno.readTextFile(kubeVipManifestPath(root, pod));
  return {
    readsCurrentAdminConf: status.state === "running" && status.startedAt !== null &&
      new Date(status.startedAt).getTime() > written.getTime(),
    restarts: status.restarts,
    mark: /ca-rotator\.dev\/restarted-by: (\S+)/.exec(manifest)?.[1],
  };
}
