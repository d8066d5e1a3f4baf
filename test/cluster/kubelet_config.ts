/**
 * What the emulated kubelet reads when it (re)starts: W/var/lib/kubelet/config.yaml
 * (`rotateCertificates`, and `authentication.x509.clientCAFile`, which must hold a
 * certificate, or the kubelet does not start) and W/etc/kubernetes/kubelet.conf (server, CA,
 * client certificate — normally the W/var/lib/kubelet/pki/kubelet-client-current.pem link).
 * @module
 */
import { parse } from "yaml";
import { type KubeconfigCredentials, loadKubeconfigCredentials } from "./kubeconfig_credentials.ts";
import { fingerprint, pemBlocks } from "./kubelet_pki.ts";
import { hostPath } from "./path_map.ts";

/** Node path of the kubelet's kubeconfig. */
export const KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.conf";
/** Node path of the kubelet's configuration file. */
export const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";

/** What the emulated kubelet uses of config.yaml. */
export interface KubeletConfig {
  /** `rotateCertificates`. */
  rotateCertificates: boolean;
  /** `authentication.x509.clientCAFile` (node path). */
  clientCAFile: string | null;
  /** SHA-256 fingerprints of the certificates in the client CA file. */
  clientCAFingerprints: string[];
}

/**
 * The outcome of reading a kubelet's files: what it runs with, or why it does not start —
 * with the configuration when config.yaml could be read.
 */
export type KubeletStart =
  | { config: KubeletConfig; credentials: KubeconfigCredentials; notStarted?: undefined }
  | { config?: KubeletConfig; credentials?: undefined; notStarted: string };

/**
 * Reads config.yaml, the client CA file it names and kubelet.conf of node root `root`. Like
 * the kubelet, it does not start when one of them cannot be used; `notStarted` says why.
 */
export async function loadKubeletConfig(root: string): Promise<KubeletStart> {
  let file: Record<string, unknown>;
  try {
    file = parse(await Deno.readTextFile(hostPath(root, KUBELET_CONFIG))) ?? {};
  } catch (error) {
    return { notStarted: `cannot read ${KUBELET_CONFIG}: ${(error as Error).message}` };
  }
  const auth = file.authentication as { x509?: { clientCAFile?: string } } | undefined;
  const clientCAFile = auth?.x509?.clientCAFile ?? null;
  const config: KubeletConfig = {
    rotateCertificates: file.rotateCertificates === true,
    clientCAFile,
    clientCAFingerprints: [],
  };
  if (clientCAFile) {
    let pems: string[];
    try {
      pems = pemBlocks(await Deno.readTextFile(hostPath(root, clientCAFile)), "CERTIFICATE");
    } catch (error) {
      return { config, notStarted: `clientCAFile ${clientCAFile}: ${(error as Error).message}` };
    }
    if (pems.length === 0) {
      return { config, notStarted: `clientCAFile ${clientCAFile} holds no certificate` };
    }
    config.clientCAFingerprints = await Promise.all(pems.map((p) => fingerprint(p)));
  }
  try {
    return { config, credentials: await loadKubeconfigCredentials(root, KUBELET_KUBECONFIG) };
  } catch (error) {
    return { config, notStarted: (error as Error).message };
  }
}
