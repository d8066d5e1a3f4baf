/**
 * The shape of a test cluster: node names, addresses, ports and node roots,
 * computed from the `cluster up` options. Pure: nothing here touches the machine.
 * @module
 */
import { join } from "node:path";

/** Options of `cluster up`, with defaults filled in by {@linkcode resolveOptions}. */
export interface ClusterOptions {
  /** Number of control-plane nodes, each with an API server, etcd member, controller-manager and scheduler. */
  apiServers: number;
  /** Number of kwok worker nodes, each with a kubelet (kubelet-client). */
  nodes: number;
  /** Directory holding state.json, logs and the node roots; removed by `down`. */
  stateDir: string;
  /**
   * First three octets of the node addresses, `198.18.<n>`: `up` puts them in a network
   * namespace of the cluster's own, reached from the root namespace through a veth pair
   * (see netns.ts); `down` removes both.
   */
  subnet: string;
  /** Lifetime of the kubelet client certificates issued when the cluster starts, in seconds. */
  kubeletCertLifetimeSeconds: number;
  /** The first kubelet rotation threshold is placed at least this many seconds after issuance. */
  firstRotationAfterSeconds: number;
  /** kube-controller-manager `--cluster-signing-duration` (lifetime of certificates it signs). */
  signingDuration: string;
  /** Interval of the kubelets' heartbeat (lease renewal), in seconds. */
  heartbeatSeconds: number;
  /** kube-controller-manager `--node-monitor-grace-period`. */
  nodeMonitorGracePeriod: string;
  /** When set, the supervisor tears the cluster down once this process has exited. */
  ownerPid?: number;
  /**
   * Every node (control plane and workers) reachable over ssh on its own address, in a mount
   * namespace holding its node root's files at their real paths (see node_ssh.ts).
   */
  ssh: boolean;
  /**
   * Kubelets with serving certificates: `serverTLSBootstrap: true` (kubelet-serving CSRs, which
   * nothing approves by itself), each kubelet serving HTTPS on its node's address (workers get
   * theirs in the namespace), and the API server's `--kubelet-certificate-authority` set to
   * the cluster CA.
   */
  servingCertificates: boolean;
}

/** The default state directory of `cluster up`. */
export const DEFAULT_STATE_DIR = Deno.env.get("CA_ROTATOR_CLUSTER_DIR") ??
  "/tmp/ca-rotator-cluster";

/** Fills in defaults and validates the options of `cluster up`. */
export function resolveOptions(options: Partial<ClusterOptions> = {}): ClusterOptions {
  const resolved: ClusterOptions = {
    apiServers: options.apiServers ?? 3,
    nodes: options.nodes ?? 3,
    stateDir: options.stateDir ?? DEFAULT_STATE_DIR,
    subnet: options.subnet ?? "198.18.1",
    kubeletCertLifetimeSeconds: options.kubeletCertLifetimeSeconds ?? 300,
    firstRotationAfterSeconds: options.firstRotationAfterSeconds ?? 30,
    signingDuration: options.signingDuration ?? "10m",
    heartbeatSeconds: options.heartbeatSeconds ?? 5,
    nodeMonitorGracePeriod: options.nodeMonitorGracePeriod ?? "20s",
    ownerPid: options.ownerPid,
    ssh: options.ssh ?? false,
    servingCertificates: options.servingCertificates ?? false,
  };
  if (
    !Number.isInteger(resolved.apiServers) || resolved.apiServers < 1 || resolved.apiServers > 9
  ) {
    throw new Error(`Cannot plan cluster: --api-servers must be 1..9, got ${resolved.apiServers}`);
  }
  if (!Number.isInteger(resolved.nodes) || resolved.nodes < 0 || resolved.nodes > 50) {
    throw new Error(`Cannot plan cluster: --nodes must be 0..50, got ${resolved.nodes}`);
  }
  const octet = resolved.subnet.match(/^198\.18\.(\d{1,3})$/)?.[1];
  if (octet === undefined || Number(octet) > 255) {
    throw new Error(
      `Cannot plan cluster: --subnet must be 198.18.<0..255>, got ${resolved.subnet}`,
    );
  }
  if (resolved.firstRotationAfterSeconds >= resolved.kubeletCertLifetimeSeconds * 0.7) {
    throw new Error(
      "Cannot plan cluster: the first rotation must fall inside the kubelet certificate lifetime",
    );
  }
  return resolved;
}

/** A control-plane node: its own address and node root. */
export interface ControlPlaneNode {
  /** Node name, also the etcd member name and the kubelet's `system:node:<name>` identity. */
  name: string;
  /** Address (in the cluster's network namespace) every component of the node binds to. */
  ip: string;
  /** Directory standing for the node's `/`. */
  root: string;
}

/** A worker node: kwok fakes its pods, a kubelet (kubelet-client) holds its client certificate. */
export interface WorkerNode {
  /** Node name. */
  name: string;
  /**
   * Its address in the cluster's network namespace, `198.18.<n>.(21 + i)`: only its sshd
   * listens there (`--ssh`); its kubelet only dials the API.
   */
  ip: string;
  /** Directory standing for the node's `/`. */
  root: string;
}

/** Where everything of one cluster lives. */
export interface ClusterLayout {
  /** The options the layout was computed from. */
  options: ClusterOptions;
  /** Control-plane nodes; the first one runs the cluster-wide kubeadm phases. */
  controlPlane: ControlPlaneNode[];
  /** Worker nodes. */
  workers: WorkerNode[];
  /** haproxy's address, the cluster's `controlPlaneEndpoint`. */
  endpoint: { ip: string; port: number };
  /** Address of kwok's (fake kubelet) server. */
  kwokAddress: string;
  /** API server port of every control-plane node. */
  apiServerPort: number;
}

/** The standard ports every control-plane node uses on its own address. */
export const PORTS = {
  apiServer: 6443,
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  controllerManager: 10257,
  scheduler: 10259,
  kwok: 10247,
} as const;

/** Worker _i_ (from 0) is `198.18.<n>.(21 + i)`: below haproxy's .100 for up to 50 workers. */
const WORKER_FIRST_OCTET = 21;

/** Computes the layout of a cluster from its options. */
export function planLayout(options: ClusterOptions): ClusterLayout {
  const nodesDir = join(options.stateDir, "nodes");
  const controlPlane = Array.from({ length: options.apiServers }, (_, i) => ({
    name: `control-plane-${i + 1}`,
    ip: `${options.subnet}.${i + 1}`,
    root: join(nodesDir, `control-plane-${i + 1}`),
  }));
  const workers = Array.from({ length: options.nodes }, (_, i) => ({
    name: `worker-${i + 1}`,
    ip: `${options.subnet}.${WORKER_FIRST_OCTET + i}`,
    root: join(nodesDir, `worker-${i + 1}`),
  }));
  return {
    options,
    controlPlane,
    workers,
    endpoint: { ip: `${options.subnet}.100`, port: PORTS.apiServer },
    kwokAddress: `${options.subnet}.200:${PORTS.kwok}`,
    apiServerPort: PORTS.apiServer,
  };
}

/**
 * Every address of the cluster's network namespace: the control-plane nodes', haproxy's and
 * kwok's, and with `ssh` or `servingCertificates` the workers' (where their sshd listens, and
 * their kubelets' HTTPS with serving certificates).
 */
export function networkAddresses(layout: ClusterLayout): string[] {
  return [
    ...layout.controlPlane.map((n) => n.ip),
    ...(workersListen(layout) ? layout.workers.map((n) => n.ip) : []),
    layout.endpoint.ip,
    layout.kwokAddress.split(":")[0],
  ];
}

/** Whether something listens on the workers' addresses (their sshd, their kubelets' HTTPS). */
export function workersListen(layout: ClusterLayout): boolean {
  return layout.options.ssh || (layout.options.servingCertificates ?? false);
}

/** `https://<haproxy>:6443`, the URL every kubeconfig of the cluster points at. */
export function endpointUrl(layout: ClusterLayout): string {
  return `https://${layout.endpoint.ip}:${layout.endpoint.port}`;
}

/** The admin kubeconfig kubeadm wrote on the first control-plane node (server: haproxy). */
export function adminKubeconfig(layout: ClusterLayout): string {
  return join(layout.controlPlane[0].root, "etc/kubernetes/admin.conf");
}
