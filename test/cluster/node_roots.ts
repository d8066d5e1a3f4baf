/**
 * Makes the node roots of a test cluster.
 *
 * Control-plane node R (all written by kubeadm's own phases, chrooted into R):
 * R/etc/kubernetes/{pki/…, manifests/…, admin.conf, controller-manager.conf, scheduler.conf,
 * kubelet.conf, super-admin.conf (first node only)}, R/var/lib/kubelet/{config.yaml,
 * kubeadm-flags.env, instance-config.yaml, pki/}, R/root/kubeadm-config.yaml. Nodes after the
 * first join as kubeadm's manual certificate distribution does: the shared CA, service-account
 * and front-proxy/etcd CA files are copied from the first node before `certs all`.
 *
 * Worker node W (what `kubeadm join` and the kubelet's TLS bootstrap leave behind):
 * W/etc/kubernetes/pki/ca.crt, W/etc/kubernetes/kubelet.conf (CA data + client certificate and
 * key at /var/lib/kubelet/pki/kubelet-client-current.pem), W/var/lib/kubelet/config.yaml
 * (the cluster's kubelet-config, as kubeadm join downloads it) and W/var/lib/kubelet/pki/.
 * @module
 */
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import {
  initPhase,
  KUBEADM_CONFIG_PATH,
  renderKubeadmConfig,
  SHARED_PKI_FILES,
} from "./kubeadm.ts";
import { KUBELET_CLIENT_CURRENT, storeClientCertificate } from "./kubelet_cert_store.ts";
import { issueClientCertificate, nodeSubject } from "./kubelet_pki.ts";
import { type ClusterLayout, endpointUrl } from "./layout.ts";
import { hostPath } from "./path_map.ts";

/** Generates every control-plane node root with kubeadm. */
export async function createControlPlaneRoots(
  layout: ClusterLayout,
  binDir: string,
  kubernetesVersion: string,
  log: (line: string) => void,
): Promise<void> {
  const first = layout.controlPlane[0];
  for (const [i, node] of layout.controlPlane.entries()) {
    const started = Date.now();
    const R = node.root;
    await Deno.mkdir(hostPath(R, "/root"), { recursive: true });
    await Deno.writeTextFile(
      hostPath(R, KUBEADM_CONFIG_PATH),
      renderKubeadmConfig(layout, node, kubernetesVersion),
    );
    if (i > 0) {
      for (const file of SHARED_PKI_FILES) {
        const to = hostPath(R, `/etc/kubernetes/pki/${file}`);
        await Deno.mkdir(dirname(to), { recursive: true });
        await Deno.copyFile(hostPath(first.root, `/etc/kubernetes/pki/${file}`), to);
        if (file.endsWith(".key")) await Deno.chmod(to, 0o600);
      }
    }
    const quiet = () => {};
    for (
      const phase of [["certs", "all"], ["kubeconfig", "all"], ["control-plane", "all"], [
        "etcd",
        "local",
      ]]
    ) {
      await initPhase(binDir, R, phase, i === 0 ? log : quiet);
    }
    await initPhase(binDir, R, ["kubelet-start"], quiet);
    if (i > 0) {
      // `kubeadm join --control-plane` does not write super-admin.conf.
      await Deno.remove(hostPath(R, "/etc/kubernetes/super-admin.conf"));
    }
    await Deno.mkdir(hostPath(R, "/var/lib/kubelet/pki"), { recursive: true });
    log(`[kubeadm] ${node.name} (${node.ip}): node root ${R} ready in ${Date.now() - started} ms`);
  }
}

/** The kubelet.conf a kubelet writes after its TLS bootstrap. */
export function renderBootstrappedKubeletConf(server: string, caPem: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "default-cluster",
      cluster: { "certificate-authority-data": btoa(caPem), server },
    }],
    contexts: [{
      name: "default-context",
      context: { cluster: "default-cluster", namespace: "default", user: "default-auth" },
    }],
    "current-context": "default-context",
    preferences: {},
    users: [{
      name: "default-auth",
      user: { "client-certificate": KUBELET_CLIENT_CURRENT, "client-key": KUBELET_CLIENT_CURRENT },
    }],
  });
}

/** Creates the worker node roots from the first control-plane node's CA and kubelet config. */
export async function createWorkerRoots(
  layout: ClusterLayout,
  log: (line: string) => void,
): Promise<void> {
  const first = layout.controlPlane[0].root;
  const caPem = await Deno.readTextFile(hostPath(first, "/etc/kubernetes/pki/ca.crt"));
  const kubeletConfig = await Deno.readTextFile(hostPath(first, "/var/lib/kubelet/config.yaml"));
  for (const w of layout.workers) {
    await Deno.mkdir(hostPath(w.root, "/etc/kubernetes/pki"), { recursive: true });
    await Deno.mkdir(hostPath(w.root, "/var/lib/kubelet/pki"), { recursive: true });
    await Deno.writeTextFile(hostPath(w.root, "/etc/kubernetes/pki/ca.crt"), caPem);
    await Deno.writeTextFile(
      hostPath(w.root, "/etc/kubernetes/kubelet.conf"),
      renderBootstrappedKubeletConf(endpointUrl(layout), caPem),
      { mode: 0o600 },
    );
    await Deno.writeTextFile(hostPath(w.root, "/var/lib/kubelet/config.yaml"), kubeletConfig);
  }
  if (layout.workers.length > 0) log(`[nodes] ${layout.workers.length} worker node roots ready`);
}

/**
 * Issues a node's first kubelet client certificate with the cluster CA (from the first
 * control-plane node) and stores it as kubelet-client-<time>.pem + kubelet-client-current.pem.
 * Its lifetime is `kubeletCertLifetimeSeconds` and NotBefore is backdated so that the rotation
 * deadline (70–90 % of the lifetime) falls `firstRotationAfterSeconds` to
 * `firstRotationAfterSeconds + 20 %` of the lifetime from now.
 */
export async function issueInitialKubeletCertificate(
  layout: ClusterLayout,
  nodeName: string,
  root: string,
  now: Date = new Date(),
): Promise<string> {
  const first = layout.controlPlane[0].root;
  const lifetime = layout.options.kubeletCertLifetimeSeconds * 1000;
  const notBefore = new Date(
    now.getTime() - 0.7 * lifetime + layout.options.firstRotationAfterSeconds * 1000,
  );
  const { certPem, keyPem } = await issueClientCertificate({
    caCertPem: await Deno.readTextFile(hostPath(first, "/etc/kubernetes/pki/ca.crt")),
    caKeyPem: await Deno.readTextFile(hostPath(first, "/etc/kubernetes/pki/ca.key")),
    subject: nodeSubject(nodeName),
    notBefore,
    notAfter: new Date(notBefore.getTime() + lifetime),
  });
  return await storeClientCertificate(root, certPem, keyPem, now);
}

/** Whether a node already has kubelet-client-current.pem. */
export async function hasKubeletClientCertificate(root: string): Promise<boolean> {
  try {
    await Deno.stat(join(root, KUBELET_CLIENT_CURRENT));
    return true;
  } catch {
    return false;
  }
}
