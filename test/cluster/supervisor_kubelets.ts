/**
 * The supervisor's kubelets, one `kubelet-client` process per node (control-plane and worker;
 * programs/cmd/kubelet-client, the kubelet's own client-certificate code): each node first gets
 * its initial client certificate if it has none, then its kubelet is started; the nodes are up
 * once all of them are Ready. A kubelet that exits is started again after 1 s, as systemd's
 * `Restart=always` would.
 * @module
 */
import { join } from "node:path";
import { waitForNodes } from "./_wait.ts";
import { initPhase, kubeadmVersion } from "./kubeadm.ts";
import { KWOK_NODE_ANNOTATION } from "./kwok.ts";
import type { ManagedProcess } from "./managed_process.ts";
import { hasKubeletClientCertificate, issueInitialKubeletCertificate } from "./node_roots.ts";
import { workersListen } from "./layout.ts";
import { hostPath } from "./path_map.ts";
import { log, type Supervision } from "./supervision.ts";

/** Node path of a kubelet's log (stdout and stderr of its process). */
export const KUBELET_LOG = "/var/log/kubelet.log";

/** A node's kubelet process, started again whenever it exits until {@linkcode stop}. */
export class KubeletProcess {
  #s: Supervision;
  #name: string;
  #argv: string[];
  #logFile: string;
  #proc?: ManagedProcess;
  #stopping = false;

  /** A kubelet for node `name` running `argv`; call {@linkcode start}. */
  constructor(s: Supervision, name: string, argv: string[], logFile: string) {
    this.#s = s;
    this.#name = name;
    this.#argv = argv;
    this.#logFile = logFile;
  }

  /** Starts the process (and restarts it after every exit). */
  start(): void {
    const proc = this.#s.spawn(`kubelet/${this.#name}`, {
      argv: this.#argv,
      logFile: this.#logFile,
    });
    this.#proc = proc;
    proc.exited.then(() => {
      if (this.#stopping || this.#s.shuttingDown !== undefined) return;
      setTimeout(() => {
        if (this.#stopping || this.#s.shuttingDown !== undefined) return;
        log(`restarting kubelet of ${this.#name}`);
        this.start();
        this.#s.save();
      }, 1000);
    });
  }

  /** Stops the process for good (SIGTERM, SIGKILL after 5 s). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#proc?.stop(5_000);
  }
}

/**
 * Starts a kubelet for every node, registering the Node with the labels, annotations (kwok's
 * included) and addresses of a kubeadm node and the built kubeadm's version.
 */
export async function startKubelets(s: Supervision): Promise<void> {
  const { layout, binDir } = s;
  const nodes = [
    ...layout.controlPlane.map((n) => ({ ...n, controlPlane: true })),
    // A worker's kubelet registers its address (InternalIP, as a kubeadm node's) only where
    // something listens on it: its sshd (a plan's fromCluster group reaches it there) or its HTTPS.
    ...layout.workers.map((n) => ({
      ...n,
      ip: workersListen(layout) ? n.ip : undefined,
      controlPlane: false,
    })),
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
    const annotations = { ...KWOK_NODE_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0" };
    const labels = {
      "kubernetes.io/hostname": node.name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
    };
    const argv = [
      join(binDir, "kubelet-client"),
      `--root=${node.root}`,
      `--node-name=${node.name}`,
      `--heartbeat-seconds=${layout.options.heartbeatSeconds}`,
      `--kubelet-version=${kubeletVersion}`,
      ...Object.entries(labels).map(([k, v]) => `--label=${k}=${v}`),
      ...Object.entries(annotations).map(([k, v]) => `--annotation=${k}=${v}`),
      ...(node.ip ? [`--node-ip=${node.ip}`] : []),
    ];
    await Deno.mkdir(hostPath(node.root, "/var/log"), { recursive: true });
    const kubelet = new KubeletProcess(s, node.name, argv, hostPath(node.root, KUBELET_LOG));
    s.kubelets.push(kubelet);
    kubelet.start();
  }
  await s.save();
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
