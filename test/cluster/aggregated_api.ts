/**
 * An aggregated API server in the test cluster — the front-proxy CA's real consumer:
 * k8s.io/sample-apiserver v0.37.2 (programs/cmd/sample-apiserver) as the pod process of a
 * Deployment, behind the APIService `v1alpha1.wardle.example.com`.
 *
 * ```ts
 * const api = await deployAggregatedApi(cluster); // returns once the APIService is Available
 * await cluster.kubectl(["get", "flunders"]);     // client → kube-apiserver → sample-apiserver
 * ```
 *
 * How the pieces fit:
 * - **Address**: kwok pod IPs are fake, so the server listens on a dedicated address of the
 *   cluster's network namespace, `198.18.<n>.150:8443`, which {@linkcode deployAggregatedApi}
 *   adds (`/32`) to the namespace's interface (`ip -n ca-rotator-<n> addr replace …`); it goes
 *   with the namespace at `down`.
 * - **Service**: `wardle/sample-apiserver`, without a selector (port `https` 443 → 8443), and a
 *   manual EndpointSlice with that address. kube-apiserver runs with
 *   `--enable-aggregator-routing=true` (kubeadm.ts), so the aggregator dials the endpoint
 *   address rather than the ClusterIP, and verifies the server's certificate against the
 *   APIService's `caBundle` for the name `sample-apiserver.wardle.svc`.
 * - **Serving certificate**: from a CA made here with openssl (`serving-ca.crt`, the APIService's
 *   caBundle), for `sample-apiserver.wardle.svc` (and `.cluster.local`, and the address), in
 *   `<stateDir>/aggregated-api/` — what a Secret volume would hold.
 * - **Storage**: sample-apiserver has no in-memory mode; it stores flunders and fischers in the
 *   cluster's etcd (control-plane node 1's member, `https://198.18.<n>.1:2379`) under a prefix of
 *   its own, `/registry/wardle.example.com`, with the etcd client certificate kubeadm made for the
 *   API server (`R/etc/kubernetes/pki/apiserver-etcd-client.{crt,key}`, `etcd/ca.crt`, node 1).
 * - **Front proxy**: authenticated as real aggregated servers (metrics-server) do it: its
 *   delegated authentication reads `kube-system/extension-apiserver-authentication`
 *   (`requestheader-client-ca-file`, the front-proxy CA, allowed names, header names; and
 *   `client-ca-file`) with the pod's in-cluster config — the bound ServiceAccount token and
 *   `ca.crt` of the pod's volume (see programs/cmd/sample-apiserver) — and authorizes with
 *   SubjectAccessReviews. Its ServiceAccount `wardle/sample-apiserver` gets what real
 *   aggregated servers get: the RoleBinding to `extension-apiserver-authentication-reader` in
 *   kube-system and a ClusterRoleBinding to `system:auth-delegator`; and, for its admission
 *   plugins and API Priority and Fairness, read access to namespaces, admission webhook and
 *   policy configurations and flow-control objects ({@linkcode SAMPLE_APISERVER_RULES}).
 * @module
 */
import { join } from "node:path";
import { parseDocument, stringify } from "yaml";
import { eventually, type TestCluster } from "./harness.ts";
import { runCommand } from "./managed_process.ts";
import { podFiles, type PodPaths, type PodProcessRecord, PROCESS_LABEL } from "./pod_processes.ts";

/** Where and what the aggregated API is. */
export const AGGREGATED_API = {
  /** Namespace of the Deployment, ServiceAccount, Service and EndpointSlice. */
  namespace: "wardle",
  /** Name of each of them. */
  name: "sample-apiserver",
  /** API group and version the APIService registers. */
  group: "wardle.example.com",
  version: "v1alpha1",
  /** The APIService. */
  apiService: "v1alpha1.wardle.example.com",
  /** Last octet of the server's address in the cluster's subnet. */
  hostOctet: 150,
  /** Port it serves HTTPS on. */
  port: 8443,
  /** Its etcd prefix (kube-apiserver's keys are `/registry/<resource>/…`). */
  etcdPrefix: "/registry/wardle.example.com",
} as const;

/**
 * What sample-apiserver reads of the core API besides authentication and authorization (its
 * ClusterRole): namespaces (NamespaceLifecycle admission), the admission webhook and policy
 * configurations (the MutatingAdmissionWebhook, ValidatingAdmissionWebhook,
 * ValidatingAdmissionPolicy and MutatingAdmissionPolicy plugins), flow-control objects (API
 * Priority and Fairness). k8s.io/sample-apiserver's artifacts/example/rbac.yaml, plus what
 * v0.37.2 asks for beyond it.
 */
export const SAMPLE_APISERVER_RULES = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "watch", "list"] },
  {
    apiGroups: ["admissionregistration.k8s.io"],
    resources: [
      "mutatingwebhookconfigurations",
      "validatingwebhookconfigurations",
      "validatingadmissionpolicies",
      "validatingadmissionpolicybindings",
      "mutatingadmissionpolicies",
      "mutatingadmissionpolicybindings",
    ],
    verbs: ["get", "watch", "list"],
  },
  {
    apiGroups: ["flowcontrol.apiserver.k8s.io"],
    resources: ["prioritylevelconfigurations", "flowschemas"],
    verbs: ["list", "watch"],
  },
];

/** The deployed aggregated API. */
export interface AggregatedApi {
  /** The server's address in the cluster's network namespace, and its port. */
  address: string;
  port: number;
  /** `<stateDir>/aggregated-api`: the serving CA and certificate. */
  dir: string;
  /** The serving CA (the APIService's caBundle). */
  servingCaPem: string;
  /** The container args of the Deployment (sample-apiserver's flags). */
  args: string[];
  /** The Running pod of the Deployment, its pod-process record and files. */
  pod(): Promise<{ name: string; uid: string; record: PodProcessRecord; files: PodPaths }>;
  /** The APIService's `Available` condition. */
  available(): Promise<{ status: string; reason?: string; message?: string }>;
}

/** A certificate and key written by {@linkcode issueCertificate}. */
export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/**
 * Issues an ECDSA P-256 certificate with openssl into `<dir>/<name>.{crt,key}`: a self-signed CA
 * when `ca` is absent, else a leaf signed by `ca` — for serving (`serverAuth`, with the DNS
 * names and IP addresses given) or for client authentication (`clientAuth`).
 */
export async function issueCertificate(
  dir: string,
  name: string,
  options: {
    commonName: string;
    ca?: IssuedCertificate;
    usage?: "server" | "client";
    dnsNames?: string[];
    ipAddresses?: string[];
    days?: number;
  },
): Promise<IssuedCertificate> {
  await Deno.mkdir(dir, { recursive: true });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const days = String(options.days ?? 365);
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"];
  if (!options.ca) {
    await runCommand([
      "openssl",
      "req",
      "-x509",
      ...key,
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-subj",
      `/CN=${options.commonName}`,
      "-days",
      days,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]);
  } else {
    const csrFile = join(dir, `${name}.csr`);
    const extFile = join(dir, `${name}.ext`);
    const sans = [
      ...(options.dnsNames ?? []).map((d) => `DNS:${d}`),
      ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`),
    ];
    await Deno.writeTextFile(
      extFile,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage=${options.usage === "client" ? "clientAuth" : "serverAuth"}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
      ].join("\n") + "\n",
    );
    await runCommand([
      "openssl",
      "req",
      "-new",
      ...key,
      "-keyout",
      keyFile,
      "-out",
      csrFile,
      "-subj",
      `/CN=${options.commonName}`,
    ]);
    await runCommand([
      "openssl",
      "x509",
      "-req",
      "-in",
      csrFile,
      "-CA",
      options.ca.certFile,
      "-CAkey",
      options.ca.keyFile,
      "-set_serial",
      `0x${crypto.randomUUID().replaceAll("-", "").slice(0, 30)}`,
      "-days",
      days,
      "-extfile",
      extFile,
      "-out",
      certFile,
    ]);
    await Deno.remove(csrFile);
    await Deno.remove(extFile);
  }
  await Deno.chmod(keyFile, 0o600);
  return {
    certFile,
    keyFile,
    certPem: await Deno.readTextFile(certFile),
    keyPem: await Deno.readTextFile(keyFile),
  };
}

/**
 * Adds `address/32` to the interface of the cluster's network namespace that carries the node
 * addresses (idempotent: `ip addr replace`).
 */
export async function addNamespaceAddress(cluster: TestCluster, address: string): Promise<void> {
  const network = cluster.state.network;
  if (!network) throw new Error("Cannot add an address: the cluster has no network namespace");
  await runCommand([
    "ip",
    "-n",
    network.netns,
    "addr",
    "replace",
    `${address}/32`,
    "dev",
    network.nsInterface,
  ]);
}

/**
 * The static-pod manifest text with the pod annotation `key` set to `value` (the rest of the
 * file kept as it is): a change of the pod, so the static-pod runner restarts the component.
 */
export function withManifestAnnotation(text: string, key: string, value: string): string {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new Error(`not valid YAML: ${document.errors[0].message}`);
  if (!document.getIn(["metadata", "annotations"])) {
    document.setIn(["metadata", "annotations"], document.createNode({}));
  }
  document.setIn(["metadata", "annotations", key], value);
  return document.toString({ indentSeq: false });
}

/**
 * Restarts a control-plane component of node `node` (index) as a kubelet would after a change
 * of its static pod: sets the annotation `ca-rotator.test/restarted-at` in its manifest, then
 * waits until a new process runs and is ready, and (for kube-apiserver) until the load
 * balancer passes requests again.
 */
export async function restartControlPlaneComponent(
  cluster: TestCluster,
  node: number,
  component: string,
  timeoutMs = 120_000,
): Promise<void> {
  const before = await cluster.componentStatus(node, component);
  const manifest = join(cluster.nodes[node].root, `etc/kubernetes/manifests/${component}.yaml`);
  const text = await Deno.readTextFile(manifest);
  await Deno.writeTextFile(
    manifest,
    withManifestAnnotation(text, "ca-rotator.test/restarted-at", new Date().toISOString()),
  );
  await eventually(
    `${component} of ${cluster.nodes[node].name} to restart and be ready`,
    async () => {
      const s = await cluster.componentStatus(node, component);
      return s.pid !== before.pid && s.state === "running" && s.ready;
    },
    timeoutMs,
  );
  if (component === "kube-apiserver") {
    await eventually("the API to answer through the load balancer", async () => {
      const out = await cluster.kubectl(["get", "--raw", "/readyz"]).catch(() => "");
      return out.trim() === "ok";
    }, timeoutMs);
  }
}

/** The objects of the aggregated API (see the module documentation). */
export function aggregatedApiObjects(options: {
  address: string;
  args: string[];
  servingCaPem: string;
}): { access: unknown[]; workload: unknown[] } {
  const { namespace, name, port } = AGGREGATED_API;
  const sa = { kind: "ServiceAccount", name, namespace };
  const access = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${namespace}:${name}:auth-reader`, namespace: "kube-system" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "extension-apiserver-authentication-reader",
      },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `${namespace}:${name}:auth-delegator` },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "system:auth-delegator",
      },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: `${namespace}:${name}` },
      rules: SAMPLE_APISERVER_RULES,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `${namespace}:${name}` },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `${namespace}:${name}`,
      },
      subjects: [sa],
    },
  ];
  const workload = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      // No selector: its endpoint is the EndpointSlice below, not the (fake) pod IP.
      spec: { ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        namespace,
        labels: {
          "kubernetes.io/service-name": name,
          "endpointslice.kubernetes.io/managed-by": "ca-rotator.test",
        },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: [options.address], conditions: { ready: true } }],
      ports: [{ name: "https", port, protocol: "TCP" }],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        // One server at a time: the new pod's process binds the address the old one held.
        strategy: { type: "Recreate" },
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name, [PROCESS_LABEL]: "sample-apiserver" } },
          spec: {
            serviceAccountName: name,
            terminationGracePeriodSeconds: 5,
            containers: [{ name, image: "ca-rotator.test/sample-apiserver", args: options.args }],
          },
        },
      },
    },
    {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: AGGREGATED_API.apiService },
      spec: {
        group: AGGREGATED_API.group,
        version: AGGREGATED_API.version,
        groupPriorityMinimum: 1000,
        versionPriority: 15,
        service: { namespace, name, port: 443 },
        caBundle: btoa(options.servingCaPem),
      },
    },
  ];
  return { access, workload };
}

/**
 * Deploys the aggregated API (see the module documentation) and returns once the APIService is
 * Available (the aggregator's discovery check through the front proxy passed).
 */
export async function deployAggregatedApi(
  cluster: TestCluster,
  options: { timeoutMs?: number } = {},
): Promise<AggregatedApi> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const { namespace, name, port } = AGGREGATED_API;
  const stateDir = cluster.layout.options.stateDir;
  const address = `${cluster.layout.options.subnet}.${AGGREGATED_API.hostOctet}`;
  const dir = join(stateDir, "aggregated-api");
  const node1 = cluster.nodes[0];
  const pki = join(node1.root, "etc/kubernetes/pki");

  await addNamespaceAddress(cluster, address);
  const servingCa = await issueCertificate(dir, "serving-ca", {
    commonName: "sample-apiserver-serving-ca",
  });
  const serving = await issueCertificate(dir, "serving", {
    commonName: `${name}.${namespace}.svc`,
    ca: servingCa,
    usage: "server",
    dnsNames: [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`],
    ipAddresses: [address],
  });
  const args = [
    `--bind-address=${address}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${serving.certFile}`,
    `--tls-private-key-file=${serving.keyFile}`,
    `--etcd-servers=https://${node1.ip}:2379`,
    `--etcd-cafile=${join(pki, "etcd/ca.crt")}`,
    `--etcd-certfile=${join(pki, "apiserver-etcd-client.crt")}`,
    `--etcd-keyfile=${join(pki, "apiserver-etcd-client.key")}`,
    `--etcd-prefix=${AGGREGATED_API.etcdPrefix}`,
  ];
  const { access, workload } = aggregatedApiObjects({
    address,
    args,
    servingCaPem: servingCa.certPem,
  });
  const list = (items: unknown[]) => stringify({ apiVersion: "v1", kind: "List", items });

  // RBAC first, and only then the server, so that its first reads are not refused.
  await cluster.kubectl(["apply", "-f", "-"], { stdin: list(access) });
  const as = `--as=system:serviceaccount:${namespace}:${name}`;
  for (
    const check of [
      ["get", "configmap/extension-apiserver-authentication", "-n", "kube-system"],
      ["create", "tokenreviews.authentication.k8s.io"],
      ["create", "subjectaccessreviews.authorization.k8s.io"],
      ["watch", "namespaces"],
    ]
  ) {
    await eventually(`${name} to be allowed to ${check.slice(0, 2).join(" ")}`, async () => {
      // (kubectl may add a warning, e.g. that a resource is not namespaced.)
      const out = await cluster.kubectl(["auth", "can-i", ...check, as]).catch(() => "no");
      return /^yes$/m.test(out);
    }, 30_000);
  }
  await cluster.kubectl(["apply", "-f", "-"], { stdin: list(workload) });

  const pod = async () => {
    const pods = await cluster.kubectlJson<{
      items: {
        metadata: { name: string; uid: string; deletionTimestamp?: string };
        status?: { phase?: string };
      }[];
    }>(["-n", namespace, "get", "pods", "-l", `app=${name}`]);
    const running = pods.items.filter((p) =>
      !p.metadata.deletionTimestamp && p.status?.phase === "Running"
    );
    if (running.length !== 1) {
      throw new Error(`expected one Running pod of ${namespace}/${name}, found ${running.length}`);
    }
    const { name: podName, uid } = running[0].metadata;
    const files = podFiles(stateDir, namespace, podName);
    const record = JSON.parse(await Deno.readTextFile(files.recordFile)) as PodProcessRecord;
    return { name: podName, uid, record, files };
  };
  const available = async () => {
    const s = await cluster.kubectlJson<{
      status?: {
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
      };
    }>(["get", "apiservice", AGGREGATED_API.apiService]);
    const c = s.status?.conditions?.find((c) => c.type === "Available");
    return { status: c?.status ?? "Unknown", reason: c?.reason, message: c?.message };
  };
  let last: { status: string; reason?: string; message?: string } | undefined;
  try {
    await eventually(
      `APIService ${AGGREGATED_API.apiService} to be Available`,
      async () => {
        last = await available();
        return last.status === "True";
      },
      timeoutMs,
      1000,
    );
  } catch (error) {
    const log = await pod().then((p) => Deno.readTextFile(p.files.logFile)).catch((e) =>
      `(no log: ${(e as Error).message})`
    );
    throw new Error(
      `${(error as Error).message}; Available: ${JSON.stringify(last)}; ${name}'s log ends:\n${
        log.split("\n").slice(-30).join("\n")
      }`,
    );
  }
  return { address, port, dir, servingCaPem: servingCa.certPem, args, pod, available };
}
