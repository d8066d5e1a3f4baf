/**
 * The nodes of the step kind tests, as kubeadm left them: two control-plane nodes and a worker,
 * their names and addresses, and the files on each (PKI files, static-pod manifests,
 * kubeconfigs, kubelet files, with kubeadm's modes) issued by the test CAs, made once per test
 * module and laid out under a node root on demand.
 * @module
 */
import { join } from "node:path";
import {
  KUBE_CONTROLLER_MANAGER_MANIFEST,
  KUBE_SCHEDULER_MANIFEST,
  kubeApiserverManifest,
  kubeconfigText,
  KUBELET_CONF,
  KUBELET_CONFIG,
  kubeletConfigText,
  MANIFESTS,
  PKI,
} from "./_test_kubeadm_files.ts";
import { issueLeaf, type TestCas, testCas } from "./_test_pki.ts";

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

/** One file of a node root. */
interface NodeFile {
  readonly path: string;
  readonly text: string;
  readonly mode: number;
  /** Written as a symbolic link to this file (as the kubelet's `kubelet-client-current.pem`). */
  readonly linkFrom?: string;
}

let files: Promise<ReadonlyMap<string, readonly NodeFile[]>> | undefined;

/** The files of every node, by name, made once per test module. */
function nodeFiles(): Promise<ReadonlyMap<string, readonly NodeFile[]>> {
  files ??= makeNodeFiles();
  return files;
}

async function makeNodeFiles(): Promise<ReadonlyMap<string, readonly NodeFile[]>> {
  const cas = await testCas();
  const files = new Map<string, NodeFile[]>();
  for (const [index, node] of CONTROL_PLANE.entries()) {
    files.set(node.name, await controlPlaneFiles(cas, node, index === 0));
  }
  for (const node of WORKERS) files.set(node.name, await workerFiles(cas, node));
  return files;
}

/** Lays out the files of the node named `name` under `root`, as kubeadm left them. */
export async function layOutNode(root: string, name: string): Promise<void> {
  await layOut(root, (await nodeFiles()).get(name)!);
}

const pkiFiles = (name: string, pair: { cert: string; key: string }): NodeFile[] => [
  { path: `${PKI}/${name}.crt`, text: pair.cert, mode: 0o644 },
  { path: `${PKI}/${name}.key`, text: pair.key, mode: 0o600 },
];

async function controlPlaneFiles(cas: TestCas, node: NodeSpec, first: boolean) {
  const ca = cas.oldCluster;
  const apiserver = await issueLeaf({
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
  const kubeletClient = await issueLeaf({
    ca,
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["kubeadm:cluster-admins"],
  });
  const frontProxyClient = await issueLeaf({
    ca: cas.oldFrontProxy,
    commonName: "front-proxy-client",
  });
  const client = async (user: string, server: string, organizations?: string[]) => {
    const issued = await issueLeaf({ ca, commonName: user, organizations });
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
  const client = await issueLeaf({
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
