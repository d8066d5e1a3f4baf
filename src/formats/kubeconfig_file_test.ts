import assert from "node:assert/strict";
import {
  kubeconfigCaData,
  kubeconfigClientCert,
  setKubeconfigCaData,
  setKubeconfigClientCert,
} from "./kubeconfig_file.ts";

const pem = (label: string) =>
  `-----BEGIN CERTIFICATE-----\n${btoa(label)}\n-----END CERTIFICATE-----\n`;

const kubeletConf = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${btoa(pem("old"))}
    server: https://127.0.1.100:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:cp-1
  name: system:node:cp-1@kubernetes
current-context: system:node:cp-1@kubernetes
kind: Config
users:
- name: system:node:cp-1
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
`;

Deno.test("kubeconfigCaData decodes certificate-authority-data", () => {
  assert.deepEqual(kubeconfigCaData(kubeletConf), [pem("old")]);
});

Deno.test("setKubeconfigCaData writes the bundle and keeps everything else", () => {
  const bundle = pem("old") + pem("new");
  const edited = setKubeconfigCaData(kubeletConf, bundle);
  assert.deepEqual(kubeconfigCaData(edited), [bundle]);
  assert.equal(
    edited.replace(/certificate-authority-data: .*/, ""),
    kubeletConf.replace(/certificate-authority-data: .*/, ""),
  );
});

Deno.test("kubeconfigClientCert reads file references and inline data", () => {
  assert.equal(
    kubeconfigClientCert(kubeletConf).certFile,
    "/var/lib/kubelet/pki/kubelet-client-current.pem",
  );
  const inline = setKubeconfigClientCert(kubeletConf, pem("leaf"), "KEY");
  const cert = kubeconfigClientCert(inline);
  assert.equal(cert.certPem, pem("leaf"));
  assert.equal(cert.keyPem, "KEY");
});

Deno.test("a kubeconfig without clusters is refused with its path", () => {
  assert.throws(() => kubeconfigCaData("kind: Config\n", "/etc/kubernetes/admin.conf"), {
    message: "/etc/kubernetes/admin.conf: has no clusters",
  });
});
