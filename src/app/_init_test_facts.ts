/**
 * Private to init's tests: the facts of a kubeadm HA cluster as `readClusterFacts` returns them.
 * @module
 */
import type { ClusterFacts, NodeFact } from "./cluster_facts.ts";

const node = (name: string, ip: string, controlPlane: boolean): NodeFact => ({
  name,
  controlPlane,
  addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }],
});

/** Three control-plane nodes behind a load balancer, two workers, nothing unusual. */
export const PLAIN_FACTS: ClusterFacts = {
  server: "https://k8s.example.com:6443",
  context: "kubernetes-admin@kubernetes",
  clusterName: "kubernetes",
  nodes: [
    node("cp-1", "10.0.0.11", true),
    node("cp-2", "10.0.0.12", true),
    node("cp-3", "10.0.0.13", true),
    node("worker-1", "10.0.1.21", false),
    node("worker-2", "10.0.1.22", false),
  ],
  apiServerEndpoints: {
    value: ["https://10.0.0.11:6443", "https://10.0.0.12:6443", "https://10.0.0.13:6443"],
    source: "the kube-apiserver mirror pods (advertise addresses)",
  },
  certificatesDir: "/etc/kubernetes/pki",
  staticPodPath: "/etc/kubernetes/manifests",
  serverTlsBootstrap: {
    value: false,
    source: "ConfigMap kube-system/kubelet-config does not set serverTLSBootstrap: true; " +
      "0 kubelet-serving CertificateSigningRequests",
  },
  signingFlags: {
    value: {
      "--cluster-signing-cert-file": "/etc/kubernetes/pki/ca.crt",
      "--cluster-signing-key-file": "/etc/kubernetes/pki/ca.key",
    },
    source: "the kube-controller-manager mirror pod kube-system/kube-controller-manager-cp-1",
  },
  caBundleObjects: [],
  tokenSecrets: [],
  staticPods: [],
};

/** The same cluster using everything that changes the procedure. */
export const BUSY_FACTS: ClusterFacts = {
  ...PLAIN_FACTS,
  serverTlsBootstrap: {
    value: true,
    source: "ConfigMap kube-system/kubelet-config sets serverTLSBootstrap: true; " +
      "5 kubelet-serving CertificateSigningRequests",
  },
  signingFlags: {
    value: {
      "--cluster-signing-kubelet-client-cert-file": "/etc/kubernetes/pki/ca.crt",
      "--cluster-signing-kubelet-client-key-file": "/etc/kubernetes/pki/ca.key",
      "--cluster-signing-kubelet-serving-cert-file": "/etc/kubernetes/pki/ca.crt",
      "--cluster-signing-kubelet-serving-key-file": "/etc/kubernetes/pki/ca.key",
      "--cluster-signing-legacy-unknown-cert-file": "/etc/kubernetes/pki/other-ca.crt",
      "--cluster-signing-legacy-unknown-key-file": "/etc/kubernetes/pki/other-ca.key",
    },
    source: "the kube-controller-manager mirror pod kube-system/kube-controller-manager-cp-1",
  },
  caBundleObjects: [
    "APIService/v1beta1.metrics.k8s.io",
    "ValidatingWebhookConfiguration/policy",
  ],
  tokenSecrets: ["ci/deployer-token", "kube-system/legacy-token"],
  staticPods: [{
    name: "kube-vip",
    nodes: ["cp-1", "cp-2", "cp-3"],
    mounts: ["/etc/kubernetes/admin.conf"],
  }],
};
