/**
 * kubeadm as the author of every control-plane node's files: a kubeadm configuration per
 * node, and `kubeadm init phase …` run with `--rootfs <node root>` (kubeadm chroots into the
 * root, so it writes /etc/kubernetes/… and /var/lib/kubelet/… of that node).
 * @module
 */
import { join } from "node:path";
import { stringify } from "yaml";
import type { ClusterLayout, ControlPlaneNode } from "./layout.ts";
import { PORTS } from "./layout.ts";
import { runCommand } from "./managed_process.ts";

/** Node path of the kubeadm configuration each control-plane node was made with. */
export const KUBEADM_CONFIG_PATH = "/root/kubeadm-config.yaml";

/** Files kubeadm shares between control-plane nodes (copied from the first node before a join). */
export const SHARED_PKI_FILES = [
  "ca.crt",
  "ca.key",
  "sa.key",
  "sa.pub",
  "front-proxy-ca.crt",
  "front-proxy-ca.key",
  "etcd/ca.crt",
  "etcd/ca.key",
] as const;

/**
 * The kubeadm configuration (InitConfiguration, ClusterConfiguration, KubeletConfiguration)
 * of one control-plane node. Every node gets the same ClusterConfiguration; the etcd members
 * are listed up front (`initial-cluster`) so that the stacked members bootstrap together.
 */
export function renderKubeadmConfig(
  layout: ClusterLayout,
  node: ControlPlaneNode,
  kubernetesVersion: string,
): string {
  const initialCluster = layout.controlPlane
    .map((n) => `${n.name}=https://${n.ip}:${PORTS.etcdPeer}`)
    .join(",");
  const init = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "InitConfiguration",
    localAPIEndpoint: { advertiseAddress: node.ip, bindPort: layout.apiServerPort },
    nodeRegistration: {
      name: node.name,
      criSocket: "unix:///var/run/containerd/containerd.sock",
      taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
    },
  };
  const cluster = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    kubernetesVersion,
    controlPlaneEndpoint: `${layout.endpoint.ip}:${layout.endpoint.port}`,
    networking: {
      serviceSubnet: "10.96.0.0/12",
      podSubnet: "10.244.0.0/16",
      dnsDomain: "cluster.local",
    },
    apiServer: {
      extraArgs: [
        // The aggregator dials an APIService's Service at one of its EndpointSlice addresses
        // instead of its ClusterIP: nothing routes ClusterIPs in the test cluster, while the
        // aggregated API server of aggregated_api.ts listens on an address of the cluster's
        // network namespace, its Service's endpoint.
        { name: "enable-aggregator-routing", value: "true" },
        // On SIGTERM (a manifest change restarts it) an API server fails /readyz at once but
        // keeps serving for 4 s, so haproxy (checks every 1 s, down after 2 failures) stops
        // sending it requests before it stops taking them; without it a request that reaches it
        // in between is answered 503 "apiserver is shutting down" through the load balancer.
        // The static-pod runner's grace period (5 s) is longer.
        { name: "shutdown-delay-duration", value: "4s" },
        // Serving certificates from the cluster CA: the API server verifies them on the node
        // proxy (logs, exec, port-forward), as clusters with serverTLSBootstrap are set up.
        ...(layout.options.servingCertificates
          ? [{ name: "kubelet-certificate-authority", value: "/etc/kubernetes/pki/ca.crt" }]
          : []),
      ],
    },
    controllerManager: {
      extraArgs: [
        { name: "cluster-signing-duration", value: layout.options.signingDuration },
        { name: "node-monitor-grace-period", value: layout.options.nodeMonitorGracePeriod },
      ],
    },
    etcd: {
      local: {
        dataDir: "/var/lib/etcd",
        // All node addresses sit on one interface of the cluster's network namespace, so a
        // connection between two members comes from that interface's primary address (the
        // first node's), not the sender's own; etcd checks a peer's certificate against the
        // connection's source address, so every peer certificate names every member's address.
        peerCertSANs: layout.controlPlane.map((n) => n.ip),
        extraArgs: [
          { name: "initial-cluster", value: initialCluster },
          { name: "initial-cluster-state", value: "new" },
        ],
      },
    },
  };
  const kubelet = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    rotateCertificates: true,
    ...(layout.options.servingCertificates ? { serverTLSBootstrap: true } : {}),
    cgroupDriver: "systemd",
  };
  return [init, cluster, kubelet].map((doc) => stringify(doc)).join("---\n");
}

/** Runs `kubeadm <args> --rootfs <root>`; returns its output, throws with it on failure. */
export async function kubeadm(binDir: string, root: string, args: string[]): Promise<string> {
  return await runCommand([join(binDir, "kubeadm"), ...args, `--rootfs=${root}`]);
}

/** Runs `kubeadm init phase <phase> --config <node config> --rootfs <root>`. */
export async function initPhase(
  binDir: string,
  root: string,
  phase: string[],
  log: (line: string) => void,
  extra: string[] = [],
): Promise<void> {
  const out = await kubeadm(binDir, root, [
    "init",
    "phase",
    ...phase,
    `--config=${KUBEADM_CONFIG_PATH}`,
    ...extra,
  ]);
  for (const line of out.split("\n")) if (line.trim()) log(`  ${line}`);
}

/** The Kubernetes version of the built kubeadm (`v1.37.2`). */
export async function kubeadmVersion(binDir: string): Promise<string> {
  return (await runCommand([join(binDir, "kubeadm"), "version", "-o", "short"])).trim();
}
