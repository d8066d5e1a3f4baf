/**
 * The CA certificates `kube-public/cluster-info` carries — what `kubeadm join`'s token discovery
 * pins and then verifies the API server with — each with its discovery hash
 * (`--discovery-token-ca-cert-hash`) and its SHA-256 fingerprint. Read-only; for `status`.
 * @module
 */
import type { ClusterApi } from "../engine/cluster_api.ts";
import { kubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { discoveryHash, fingerprint, parseCertificates } from "../pki/mod.ts";
import { CLUSTER_INFO, type ConfigMap, kubeconfigOf } from "./_trust_configmaps.ts";

/** A CA certificate in cluster-info. */
export interface ClusterInfoCa {
  /** `sha256:<hex of its SubjectPublicKeyInfo>`, as kubeadm pins it. */
  readonly hash: string;
  /** The SHA-256 fingerprint of the certificate. */
  readonly fingerprint: string;
}

/** Every distinct CA of cluster-info's kubeconfig, in its order; empty when it does not exist. */
export async function clusterInfoCas(cluster: ClusterApi): Promise<ClusterInfoCa[]> {
  const configMap = await cluster.read<ConfigMap>(CLUSTER_INFO);
  if (!configMap) return [];
  const where = `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`;
  const cas: ClusterInfoCa[] = [];
  for (const pem of kubeconfigCaData(kubeconfigOf(configMap), where)) {
    for (const cert of parseCertificates(pem, where)) {
      const hash = await discoveryHash(cert);
      if (!cas.some((each) => each.hash === hash)) {
        cas.push({ hash, fingerprint: await fingerprint(cert) });
      }
    }
  }
  return cas;
}
