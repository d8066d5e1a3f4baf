/**
 * Test fixtures of the step kind tests: node roots laid out as kubeadm lays them out (two
 * control-plane nodes and a worker: PKI files, static-pod manifests, kubeconfigs, kubelet files,
 * with kubeadm's modes), made with the project's own PKI; the plan they belong to, parsed by the
 * real plan format; `local` node drivers built from that plan; and a {@link StepContext} over
 * them with a memory printer and a `waitFor` that asks its condition once.
 *
 * There is no Kubernetes API here: `ctx.cluster` throws on any use, so a step that reaches for
 * the API fails loudly. What needs the API is covered by the end-to-end test against a real
 * control plane.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Change } from "../engine/change.ts";
import { targetName } from "../engine/change.ts";
import type { ClusterApi } from "../engine/cluster_api.ts";
import { caMaterialOf, type CaPair } from "../engine/ca_material.ts";
import type { CommandResult, NodeAccess, WriteOptions } from "../engine/node_access.ts";
import { memoryPrinter } from "../engine/printer.ts";
import type { StepContext } from "../engine/step.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { LocalNode } from "../nodes/local.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import type { Layout } from "../plan/layout.ts";
import { parsePlan, planFormat } from "../plan/load.ts";
import type { PlanSettings } from "../plan/schema.ts";
import { waitDone } from "../engine/events.ts";
import {
  fingerprint,
  generateCa,
  type GeneratedCa,
  issueCertificate,
  type IssueCertificateOptions,
  parseCertificates,
} from "../pki/mod.ts";
import { distributeCa } from "./distribute_ca.ts";

/** A node of the test cluster: its name and address, as kubeadm's InitConfiguration gives them. */
export interface NodeSpec {
  readonly name: string;
  readonly ip: string;
}

/** The control-plane nodes: cp-1 is where `kubeadm init` ran (it alone has super-admin.conf). */
export const CONTROL_PLANE: readonly NodeSpec[] = [
  { name: "cp-1", ip: "198.18.1.1" },
  { name: "cp-2", ip: "198.18.1.2" },
];

/** The worker nodes. */
export const WORKERS: readonly NodeSpec[] = [{ name: "worker-1", ip: "198.18.2.1" }];

/** The control-plane endpoint (load balancer) of admin.conf and the workers' kubelet.conf. */
export const CONTROL_PLANE_ENDPOINT = "https://198.18.1.100:6443";

/**
 * Where each node's loopback is, for the components' HTTP probes (`https://127.0.0.1:10257/…`):
 * addresses nothing listens on, so a probe fails at once instead of reaching this machine's own
 * services.
 */
const PROBE_ADDRESSES: Record<string, string> = {
  "cp-1": "127.0.93.1",
  "cp-2": "127.0.93.2",
  "worker-1": "127.0.93.11",
};

/** kubeadm's paths (the `kubeadm` layout preset). */
export const PKI = "/etc/kubernetes/pki";
export const MANIFESTS = "/etc/kubernetes/manifests";
export const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
export const BACKUP_DIR = "/var/lib/ca-rotator/backup";

/**
 * The CAs of a rotation: the old ones as kubeadm made them (RSA), the new ones as the plan's
 * default (ECDSA).
 */
export interface TestCas {
  readonly oldCluster: GeneratedCa;
  readonly newCluster: GeneratedCa;
  readonly oldFrontProxy: GeneratedCa;
  readonly newFrontProxy: GeneratedCa;
}

/** One file of a node root. */
interface NodeFile {
  readonly path: string;
  readonly text: string;
  readonly mode: number;
  /** Written as a symbolic link to this file (as the kubelet's `kubelet-client-current.pem`). */
  readonly linkFrom?: string;
}

interface Material {
  readonly cas: TestCas;
  readonly files: ReadonlyMap<string, readonly NodeFile[]>;
}

let material: Promise<Material> | undefined;

/** The CAs and the node files, made once per test module (RSA keys are slow to generate). */
function testMaterial(): Promise<Material> {
  material ??= makeMaterial();
  return material;
}

async function makeMaterial(): Promise<Material> {
  const [oldCluster, newCluster, oldFrontProxy, newFrontProxy] = await Promise.all([
    generateCa({ keyType: "rsa-2048" }),
    generateCa({ keyType: "ecdsa-p256" }),
    generateCa({ keyType: "rsa-2048", commonName: "front-proxy-ca" }),
    generateCa({ keyType: "ecdsa-p256", commonName: "front-proxy-ca" }),
  ]);
  const cas = { oldCluster, newCluster, oldFrontProxy, newFrontProxy };
  const files = new Map<string, NodeFile[]>();
  for (const [index, node] of CONTROL_PLANE.entries()) {
    files.set(node.name, await controlPlaneFiles(cas, node, index === 0));
  }
  for (const node of WORKERS) files.set(node.name, await workerFiles(cas, node));
  return { cas, files };
}

async function leaf(options: IssueCertificateOptions): Promise<{ cert: string; key: string }> {
  const issued = await issueCertificate({ keyType: "ecdsa-p256", ...options });
  return { cert: issued.certPem, key: issued.keyPem! };
}

const pkiFiles = (name: string, pair: { cert: string; key: string }): NodeFile[] => [
  { path: `${PKI}/${name}.crt`, text: pair.cert, mode: 0o644 },
  { path: `${PKI}/${name}.key`, text: pair.key, mode: 0o600 },
];

async function controlPlaneFiles(cas: TestCas, node: NodeSpec, first: boolean) {
  const ca = cas.oldCluster;
  const apiserver = await leaf({
    ca,
    keyType: "rsa-2048",
    commonName: "kube-apiserver",
    dnsNames: [
      node.name,
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
    ipAddresses: ["10.96.0.1", node.ip, "198.18.1.100"],
    extKeyUsages: ["serverAuth"],
  });
  const kubeletClient = await leaf({
    ca,
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["kubeadm:cluster-admins"],
  });
  const frontProxyClient = await leaf({ ca: cas.oldFrontProxy, commonName: "front-proxy-client" });
  const client = async (user: string, server: string, organizations?: string[]) => {
    const issued = await leaf({ ca, commonName: user, organizations });
    return kubeconfigText({ server, caPem: ca.certPem, user, ...issued });
  };
  const local = `https://${node.ip}:6443`;
  const kubeconfigs: NodeFile[] = [
    {
      path: "/etc/kubernetes/admin.conf",
      text: await client("kubernetes-admin", CONTROL_PLANE_ENDPOINT, ["kubeadm:cluster-admins"]),
      mode: 0o600,
    },
    {
      path: "/etc/kubernetes/controller-manager.conf",
      text: await client("system:kube-controller-manager", local),
      mode: 0o600,
    },
    {
      path: "/etc/kubernetes/scheduler.conf",
      text: await client("system:kube-scheduler", local),
      mode: 0o600,
    },
  ];
  if (first) {
    kubeconfigs.push({
      path: "/etc/kubernetes/super-admin.conf",
      text: await client("kubernetes-super-admin", local, ["system:masters"]),
      mode: 0o600,
    });
  }
  return [
    ...pkiFiles("ca", { cert: ca.certPem, key: ca.keyPem }),
    ...pkiFiles("front-proxy-ca", {
      cert: cas.oldFrontProxy.certPem,
      key: cas.oldFrontProxy.keyPem,
    }),
    ...pkiFiles("apiserver", apiserver),
    ...pkiFiles("apiserver-kubelet-client", kubeletClient),
    ...pkiFiles("front-proxy-client", frontProxyClient),
    { path: `${MANIFESTS}/kube-apiserver.yaml`, text: kubeApiserverManifest(node.ip), mode: 0o600 },
    {
      path: `${MANIFESTS}/kube-controller-manager.yaml`,
      text: KUBE_CONTROLLER_MANAGER_MANIFEST,
      mode: 0o600,
    },
    { path: `${MANIFESTS}/kube-scheduler.yaml`, text: KUBE_SCHEDULER_MANIFEST, mode: 0o600 },
    ...kubeconfigs,
    ...await kubeletFiles(cas, node, local),
  ];
}

async function workerFiles(cas: TestCas, node: NodeSpec): Promise<NodeFile[]> {
  return [
    { path: `${PKI}/ca.crt`, text: cas.oldCluster.certPem, mode: 0o644 },
    ...await kubeletFiles(cas, node, CONTROL_PLANE_ENDPOINT),
  ];
}

async function kubeletFiles(cas: TestCas, node: NodeSpec, server: string): Promise<NodeFile[]> {
  const client = await leaf({
    ca: cas.oldCluster,
    commonName: `system:node:${node.name}`,
    organizations: ["system:nodes"],
  });
  const dated = "/var/lib/kubelet/pki/kubelet-client-2025-06-01-00-00-00.pem";
  return [
    {
      path: KUBELET_CONF,
      text: kubeconfigText({
        server,
        caPem: cas.oldCluster.certPem,
        user: `system:node:${node.name}`,
        certFile: "/var/lib/kubelet/pki/kubelet-client-current.pem",
        keyFile: "/var/lib/kubelet/pki/kubelet-client-current.pem",
      }),
      mode: 0o600,
    },
    { path: KUBELET_CONFIG, text: kubeletConfigText(`${PKI}/ca.crt`), mode: 0o644 },
    { path: dated, text: client.cert + client.key, mode: 0o600 },
    {
      path: "/var/lib/kubelet/pki/kubelet-client-current.pem",
      text: "",
      mode: 0o600,
      linkFrom: "kubelet-client-2025-06-01-00-00-00.pem",
    },
  ];
}

/** What a kubeconfig holds. */
export interface KubeconfigSpec {
  readonly server: string;
  readonly caPem: string;
  readonly user: string;
  /** Inline client certificate and key (component kubeconfigs)… */
  readonly cert?: string;
  readonly key?: string;
  /** … or files on the node (kubelet.conf). */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** A kubeconfig as kubeadm writes it (client-go's clientcmd serialisation). */
export function kubeconfigText(spec: KubeconfigSpec): string {
  const user = spec.cert !== undefined
    ? `    client-certificate-data: ${btoa(spec.cert)}\n    client-key-data: ${btoa(spec.key!)}\n`
    : `    client-certificate: ${spec.certFile}\n    client-key: ${spec.keyFile}\n`;
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${btoa(spec.caPem)}
    server: ${spec.server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: ${spec.user}
  name: ${spec.user}@kubernetes
current-context: ${spec.user}@kubernetes
kind: Config
users:
- name: ${spec.user}
  user:
${user}`;
}

/** The kubelet configuration kubeadm writes to /var/lib/kubelet/config.yaml. */
export function kubeletConfigText(clientCAFile: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: ${clientCAFile}
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
containerRuntimeEndpoint: unix:///var/run/containerd/containerd.sock
healthzBindAddress: 127.0.0.1
healthzPort: 10248
kind: KubeletConfiguration
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
`;
}

/**
 * kube-apiserver's static-pod manifest as kubeadm v1.37 writes it (the same pod as
 * test/cluster/testdata/kube-apiserver.yaml, in kubeadm's own serialisation: block sequences
 * not indented).
 */
export function kubeApiserverManifest(ip: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: ${ip}:6443
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=${ip}
    - --allow-privileged=true
    - --authorization-mode=Node,RBAC
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --enable-bootstrap-token-auth=true
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
    - --proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt
    - --proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key
    - --requestheader-allowed-names=front-proxy-client
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --requestheader-extra-headers-prefix=X-Remote-Extra-
    - --requestheader-group-headers=X-Remote-Group
    - --requestheader-username-headers=X-Remote-User
    - --secure-port=6443
    - --service-account-issuer=https://kubernetes.default.svc.cluster.local
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
    - --service-account-signing-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
    image: registry.k8s.io/kube-apiserver:v1.37.2
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: ${ip}
        path: /livez
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-apiserver
    ports:
    - containerPort: 6443
      name: probe-port
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: ${ip}
        path: /readyz
        port: probe-port
        scheme: HTTPS
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 250m
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: ${ip}
        path: /livez
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /etc/ssl/certs
      name: ca-certs
      readOnly: true
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/ssl/certs
      type: DirectoryOrCreate
    name: ca-certs
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
status: {}
`;
}

/** kube-controller-manager's static-pod manifest as kubeadm v1.37 writes it. */
export const KUBE_CONTROLLER_MANAGER_MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  labels:
    component: kube-controller-manager
    tier: control-plane
  name: kube-controller-manager
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-controller-manager
    - --allocate-node-cidrs=true
    - --authentication-kubeconfig=/etc/kubernetes/controller-manager.conf
    - --authorization-kubeconfig=/etc/kubernetes/controller-manager.conf
    - --bind-address=127.0.0.1
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --cluster-cidr=10.244.0.0/16
    - --cluster-name=kubernetes
    - --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt
    - --cluster-signing-key-file=/etc/kubernetes/pki/ca.key
    - --controllers=*,bootstrapsigner,tokencleaner
    - --kubeconfig=/etc/kubernetes/controller-manager.conf
    - --leader-elect=true
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --root-ca-file=/etc/kubernetes/pki/ca.crt
    - --service-account-private-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --use-service-account-credentials=true
    image: registry.k8s.io/kube-controller-manager:v1.37.2
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-controller-manager
    ports:
    - containerPort: 10257
      name: probe-port
      protocol: TCP
    resources:
      requests:
        cpu: 200m
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /etc/ssl/certs
      name: ca-certs
      readOnly: true
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
    - mountPath: /etc/kubernetes/controller-manager.conf
      name: kubeconfig
      readOnly: true
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/ssl/certs
      type: DirectoryOrCreate
    name: ca-certs
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
  - hostPath:
      path: /etc/kubernetes/controller-manager.conf
      type: FileOrCreate
    name: kubeconfig
status: {}
`;

/** kube-scheduler's static-pod manifest as kubeadm v1.37 writes it. */
export const KUBE_SCHEDULER_MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  labels:
    component: kube-scheduler
    tier: control-plane
  name: kube-scheduler
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-scheduler
    - --authentication-kubeconfig=/etc/kubernetes/scheduler.conf
    - --authorization-kubeconfig=/etc/kubernetes/scheduler.conf
    - --bind-address=127.0.0.1
    - --kubeconfig=/etc/kubernetes/scheduler.conf
    - --leader-elect=true
    image: registry.k8s.io/kube-scheduler:v1.37.2
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-scheduler
    ports:
    - containerPort: 10259
      name: probe-port
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTPS
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 100m
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: probe-port
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /etc/kubernetes/scheduler.conf
      name: kubeconfig
      readOnly: true
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/scheduler.conf
      type: FileOrCreate
    name: kubeconfig
status: {}
`;

/** The CA pair a plan's CA material holds. */
export async function caPair(ca: GeneratedCa): Promise<CaPair> {
  return { certPem: ca.certPem, keyPem: ca.keyPem, fingerprint: await fingerprint(ca.cert) };
}

/** A `ClusterApi` that is not there: any use throws, so a step that needs the API fails loudly. */
export const NO_CLUSTER_API: ClusterApi = new Proxy({} as ClusterApi, {
  get(_target, property) {
    throw new Error(
      `no Kubernetes API in these tests (cluster.${String(property)}): ` +
        `the end-to-end test covers what needs it`,
    );
  },
});

/** A step context over the test cluster, with what the step printed and waited for. */
export interface TestContext extends StepContext {
  readonly log: ReturnType<typeof memoryPrinter>;
  /** What the step waited for, in order (the `waitFor` descriptions). */
  readonly waits: string[];
}

/** Options of {@link TestCluster.context}. */
export interface ContextOptions {
  readonly stepId?: string;
  /** True: a dry run (`waitFor` returns at once, as the runner's does). */
  readonly dryRun?: boolean;
  /** Other node access than the cluster's own (overlays, recording wrappers). */
  readonly controlPlane?: readonly NodeAccess[];
  readonly workers?: readonly NodeAccess[];
  /** Where `waitFor` also records what it waits for, as `wait <description>` (see `recording`). */
  readonly events?: string[];
}

/** Options of {@link TestCluster.create}. */
export interface ClusterOptions {
  /** Whether the plan has `nodes.workers` (default true). */
  readonly workers?: boolean;
  /**
   * `layout.kubeletRestart`. Default: a command that only counts restarts in
   * `$NODE_ROOT/var/log/kubelet-restarts` (never the host's own kubelet).
   */
  readonly kubeletRestart?: readonly string[];
}

/** A command run by the local driver (`NODE_ROOT` set) that records a kubelet restart. */
export const RECORD_KUBELET_RESTART: readonly string[] = [
  "sh",
  "-c",
  'mkdir -p "$NODE_ROOT/var/log" && echo restarted >> "$NODE_ROOT/var/log/kubelet-restarts"',
];

/** Two kubeadm control-plane nodes and a worker in temporary directories, and their plan. */
export class TestCluster {
  private constructor(
    readonly base: string,
    readonly plan: PlanSettings,
    readonly controlPlane: readonly LocalNode[],
    readonly workers: readonly LocalNode[],
    readonly cas: TestCas,
    readonly newCas: { readonly cluster: CaPair; readonly frontProxy: CaPair },
  ) {}

  /** Lays out fresh node roots, as kubeadm left them, and parses their plan. */
  static async create(options: ClusterOptions = {}): Promise<TestCluster> {
    const { cas, files } = await testMaterial();
    const base = await Deno.makeTempDir({ prefix: "ca-rotator-steps-" });
    const workers = options.workers === false ? [] : WORKERS;
    for (const node of [...CONTROL_PLANE, ...workers]) {
      await layOut(join(base, node.name), files.get(node.name)!);
    }
    const group = (nodes: readonly NodeSpec[]) => ({
      driver: "local",
      roots: nodes.map((node) => join(base, node.name)),
      names: nodes.map((node) => node.name),
      addresses: nodes.map((node) => PROBE_ADDRESSES[node.name]),
    });
    const text = JSON.stringify(
      {
        apiVersion: "ca-rotator.dev/v1",
        kind: "RotationPlan",
        metadata: { name: "steps-test" },
        stopAfter: "finalize",
        layout: {
          preset: "kubeadm",
          kubeletRestart: options.kubeletRestart ?? RECORD_KUBELET_RESTART,
        },
        nodes: {
          controlPlane: group(CONTROL_PLANE),
          ...(workers.length > 0 ? { workers: group(workers) } : {}),
        },
        cas: { cluster: { source: "generate" }, frontProxy: { source: "generate" } },
        steps: [{ id: "distribute", phase: "trust", kind: "distribute-ca", ca: "cluster" }],
      },
      null,
      2,
    );
    const { plan } = parsePlan(planFormat([distributeCa]), text, join(base, "plan.yaml"));
    const local = (nodes: readonly NodeAccess[]) =>
      nodes.map((node) => {
        assert.ok(node instanceof LocalNode, `${node.name} is not a local node`);
        return node;
      });
    return new TestCluster(
      base,
      plan,
      local(nodesOf(plan.nodes.controlPlane, plan.layout)),
      local(nodesOf(plan.nodes.workers, plan.layout)),
      cas,
      { cluster: await caPair(cas.newCluster), frontProxy: await caPair(cas.newFrontProxy) },
    );
  }

  /** The plan's resolved layout (the kubeadm preset). */
  get layout(): Layout {
    return this.plan.layout;
  }

  /** Every node, control plane first. */
  get nodes(): readonly LocalNode[] {
    return [...this.controlPlane, ...this.workers];
  }

  /** The node named `name`. */
  node(name: string): LocalNode {
    const node = this.nodes.find((each) => each.name === name);
    if (!node) throw new Error(`no test node "${name}"`);
    return node;
  }

  /** A step context over this cluster's nodes (or the ones given). */
  context(options: ContextOptions = {}): TestContext {
    const waits: string[] = [];
    const events = options.events;
    const dryRun = options.dryRun ?? false;
    return {
      stepId: options.stepId ?? "test-step",
      dryRun,
      layout: this.layout,
      workloads: this.plan.workloads,
      planDir: this.base,
      rotationStartedAt: new Date(),
      controlPlane: options.controlPlane ?? this.controlPlane,
      workers: options.workers ?? this.workers,
      cluster: NO_CLUSTER_API,
      cas: caMaterialOf(this.newCas),
      log: memoryPrinter(),
      waits,
      async waitFor(description, condition) {
        waits.push(description);
        events?.push(`wait ${description}`);
        if (dryRun) return;
        if (!waitDone(await condition())) throw new Error(`timed out waiting for ${description}`);
      },
      progress() {},
    };
  }

  /**
   * A dry-run context: every node behind an {@link OverlayNode}, so writes stay in memory and
   * later reads see them, as the runner's dry run does.
   */
  dryRun(options: Omit<ContextOptions, "dryRun" | "controlPlane" | "workers"> = {}): TestContext {
    return this.context({
      ...options,
      dryRun: true,
      controlPlane: this.controlPlane.map((node) => new OverlayNode(node)),
      workers: this.workers.map((node) => new OverlayNode(node)),
    });
  }

  /** Writes a file on a node as an operator (or kubeadm) would: no backup. */
  async put(node: string, path: string, text: string, mode = 0o644): Promise<void> {
    const target = this.node(node).hostPath(path);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.writeTextFile(target, text, { mode });
  }

  /** Reads a file on a node; fails when it is missing. */
  async read(node: string, path: string): Promise<string> {
    const text = await this.node(node).readFile(path);
    assert.ok(text !== undefined, `${node}:${path} is missing`);
    return text;
  }

  /** The permission bits of a file on a node. */
  async mode(node: string, path: string): Promise<number> {
    return (await Deno.stat(this.node(node).hostPath(path))).mode! & 0o777;
  }

  /**
   * Every file of every node root, by `node:path`, backups left out: to prove that a step
   * changed exactly what its diff said, or nothing at all.
   */
  async snapshot(): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const node of this.nodes) {
      for await (const path of walk(node.root, "")) {
        if (path.startsWith(BACKUP_DIR + "/")) continue;
        files.set(`${node.name}:${path}`, await Deno.readTextFile(join(node.root, path)));
      }
    }
    return files;
  }

  /** The backups the driver kept of a node file, oldest first. */
  async backups(node: string, path: string): Promise<string[]> {
    const local = this.node(node);
    const dir = local.hostPath(join(BACKUP_DIR, path, ".."));
    const name = path.split("/").at(-1)!;
    const found: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.startsWith(`${name}.`)) found.push(join(BACKUP_DIR, path, "..", entry.name));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return found.sort();
  }

  /** Removes the node roots. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.base, { recursive: true });
  }
}

async function* walk(root: string, dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(root, path);
    else yield path;
  }
}

async function layOut(root: string, files: readonly NodeFile[]): Promise<void> {
  for (const file of files) {
    const path = join(root, file.path);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    if (file.linkFrom) {
      await Deno.symlink(file.linkFrom, path);
      continue;
    }
    await Deno.writeTextFile(path, file.text, { mode: file.mode });
    await Deno.chmod(path, file.mode);
  }
  await Deno.chmod(join(root, MANIFESTS), 0o700).catch(() => {});
}

/**
 * Node access that records, in `events`, every write, removal and command before passing it on:
 * with the context's `waitFor` recording into the same list, the order of writes, restarts and
 * waits across nodes shows.
 */
export function recording(nodes: readonly NodeAccess[], events: string[]): NodeAccess[] {
  return nodes.map((node) => ({
    name: node.name,
    readFile: (path: string) => node.readFile(path),
    writeFile(path: string, content: string, options?: WriteOptions) {
      events.push(`write ${node.name}:${path}`);
      return node.writeFile(path, content, options);
    },
    removeFile(path: string) {
      events.push(`remove ${node.name}:${path}`);
      return node.removeFile(path);
    },
    run(command: readonly string[]): Promise<CommandResult> {
      events.push(`run ${node.name}: ${command.join(" ")}`);
      return node.run(command);
    },
    reachableUrl: (url: string) => node.reachableUrl?.(url) ?? url,
  }));
}

/** Each change as one line: `create cp-1:/etc/kubernetes/pki/ca.crt`, `restart cp-1/kubelet`. */
export function describe(changes: readonly Change[]): string[] {
  return changes.map((change) => `${change.action} ${targetName(change.target)}`);
}

/** The change of a file on a node; fails when there is none. */
export function changeOf(changes: readonly Change[], node: string, path: string): Change {
  const change = changes.find((each) =>
    each.target.type === "file" && each.target.node === node && each.target.path === path
  );
  assert.ok(change, `no change of ${node}:${path} among:\n${describe(changes).join("\n")}`);
  return change;
}

/** The SHA-256 fingerprints of the certificates of a PEM text, in order. */
export async function fingerprints(pem: string): Promise<string[]> {
  return await Promise.all(parseCertificates(pem).map((cert) => fingerprint(cert)));
}

/** Fails unless `text` is free of the key's material (its PEM body lines, and its base64). */
export function assertNoKeyMaterial(text: string, keyPem: string): void {
  const body = keyPem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
  assert.ok(body.length > 0, "not a PEM key");
  for (const line of body) {
    assert.ok(!text.includes(line.slice(0, 24)), `key material leaked: ${line.slice(0, 24)}…`);
  }
  assert.ok(!text.includes(btoa(keyPem).slice(0, 40)), "the key's base64 leaked");
}

/** Fails unless `promise` rejects with a message naming every one of `words`. */
export async function assertRejectsNaming(
  promise: Promise<unknown>,
  ...words: string[]
): Promise<Error> {
  let error: unknown;
  await assert.rejects(promise, (thrown) => {
    error = thrown;
    return true;
  });
  assert.ok(error instanceof Error, `rejected with ${String(error)}, not an Error`);
  for (const word of words) {
    assert.ok(error.message.includes(word), `"${error.message}" does not name "${word}"`);
  }
  return error;
}
