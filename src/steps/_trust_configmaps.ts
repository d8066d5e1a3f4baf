/**
 * The ConfigMaps that publish the cluster's trust to its clients, each named once:
 * `kube-public/cluster-info` (what `kubeadm join` discovers the cluster through) and
 * `kube-system/extension-apiserver-authentication` (the CAs kube-apiserver publishes to aggregated
 * API servers and webhooks), with the helpers that read and edit cluster-info's kubeconfig.
 * @module
 */
import type { KubeObject, ObjectRef } from "../engine/cluster_api.ts";
import { kubeconfigCaData, setKubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { sameCertificates } from "../pki/mod.ts";

/** A ConfigMap with data. */
export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The ConfigMap `kube-public/cluster-info`. */
export const CLUSTER_INFO: ObjectRef = {
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: "kube-public",
  name: "cluster-info",
};

/** The ConfigMap kube-apiserver publishes its client and front-proxy CAs in. */
export const AUTHENTICATION_CONFIGMAP: ObjectRef = {
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: "kube-system",
  name: "extension-apiserver-authentication",
};

const where = `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`;

/** The kubeconfig of cluster-info, or an error when the ConfigMap has none. */
export function kubeconfigOf(configMap: ConfigMap): string {
  const kubeconfig = configMap.data?.kubeconfig;
  if (typeof kubeconfig !== "string") throw new Error(`${where} has no data.kubeconfig`);
  return kubeconfig;
}

/** True when every cluster of cluster-info's kubeconfig holds exactly the certificates of `pem`. */
export async function kubeconfigHolds(kubeconfig: string, pem: string): Promise<boolean> {
  for (const data of kubeconfigCaData(kubeconfig, where)) {
    if (!(await sameCertificates(data, pem))) return false;
  }
  return true;
}

/** The kubeconfig with the wanted CA data (unchanged when it already holds those certificates). */
export async function desiredKubeconfig(kubeconfig: string, pem: string): Promise<string> {
  return await kubeconfigHolds(kubeconfig, pem)
    ? kubeconfig
    : setKubeconfigCaData(kubeconfig, pem, where);
}
