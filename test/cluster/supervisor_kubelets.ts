/**
 * The supervisor's emulated kubelets, one per node (control-plane and worker): each node first
 * gets its initial client certificate if it has none, then its kubelet is started; the nodes
 * are up once all of them are Ready.
 * @module
 */
import { waitForNodes } from "./_wait.ts";
import { EmulatedKubelet } from "./emulated_kubelet.ts";
import { initPhase, kubeadmVersion } from "./kubeadm.ts";
import { KWOK_NODE_ANNOTATION } from "./kwok.ts";
import { hasKubeletClientCertificate, issueInitialKubeletCertificate } from "./node_roots.ts";
import { log, type Supervision } from "./supervision.ts";

/**
 * Starts an emulated kubelet for every node, registering the Node with the labels,
 * annotations (kwok's included) and addresses of a kubeadm node and the built kubeadm's
 * version.
 */
export async function startEmulatedKubelets(s: Supervision): Promise<void> {
  const { layout, binDir } = s;
  const nodes = [
    ...layout.controlPlane.map((n) => ({ ...n, controlPlane: true })),
    ...layout.workers.map((n) => ({ ...n, ip: undefined, controlPlane: false })),
  ];
  const kubeletVersion = await kubeadmVersion(binDir);
  for (const node of nodes) {
    if (!await hasKubeletClientCertificate(node.root)) {
      await issueInitialKubeletCertificate(layout, node.name, node.root);
      if (node.controlPlane) {
        // kubelet.conf → /var/lib/kubelet/pki/kubelet-client-current.pem, as at the end of kubeadm init
        await initPhase(
          binDir,
          node.root,
          ["kubelet-finalize", "enable-client-cert-rotation"],
          () => {},
        );
      }
    }
    const kubelet = new EmulatedKubelet({
      nodeName: node.name,
      root: node.root,
      heartbeatSeconds: layout.options.heartbeatSeconds,
      kubeletVersion,
      labels: {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
      },
      annotations: { ...KWOK_NODE_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0" },
      addresses: node.ip
        ? [{ type: "InternalIP", address: node.ip }, { type: "Hostname", address: node.name }]
        : undefined,
      log,
    });
    s.kubelets.push(kubelet);
    await kubelet.start();
  }
}

/** Waits (up to 120 s) until every node, control-plane and worker, is Ready. */
export async function waitForAllNodesReady(s: Supervision): Promise<void> {
  await waitForNodes(
    (args) => s.kubectl(args),
    [...s.layout.controlPlane, ...s.layout.workers].map((n) => n.name),
    true,
    120_000,
  );
}
