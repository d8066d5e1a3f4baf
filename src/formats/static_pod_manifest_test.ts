import assert from "node:assert/strict";
import {
  manifestAnnotation,
  manifestFlags,
  setManifestAnnotation,
  setManifestFlags,
} from "./static_pod_manifest.ts";

const manifest = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 127.0.1.1:6443
  labels:
    component: kube-apiserver
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=127.0.1.1
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    # the front proxy
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    image: registry.k8s.io/kube-apiserver:v1.37.2
    name: kube-apiserver
`;

Deno.test("manifestFlags reads the first container's --flag=value flags", () => {
  const flags = manifestFlags(manifest);
  assert.equal(flags.get("--client-ca-file"), "/etc/kubernetes/pki/ca.crt");
  assert.equal(flags.get("--advertise-address"), "127.0.1.1");
  assert.equal(flags.has("kube-apiserver"), false);
});

Deno.test("setManifestFlags replaces in place, appends new flags, keeps comments", () => {
  const edited = setManifestFlags(manifest, {
    "--client-ca-file": "/etc/kubernetes/pki/ca-bundle.crt",
    "--kubelet-certificate-authority": "/etc/kubernetes/pki/ca-bundle.crt",
  });
  const flags = manifestFlags(edited);
  assert.equal(flags.get("--client-ca-file"), "/etc/kubernetes/pki/ca-bundle.crt");
  assert.equal(flags.get("--kubelet-certificate-authority"), "/etc/kubernetes/pki/ca-bundle.crt");
  assert.match(edited, /# the front proxy/);
  const lines = edited.split("\n");
  assert.ok(
    lines.indexOf("    - --client-ca-file=/etc/kubernetes/pki/ca-bundle.crt") <
      lines.indexOf("    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt"),
    "a replaced flag keeps its place",
  );
  assert.equal(
    setManifestFlags(edited, { "--client-ca-file": "/etc/kubernetes/pki/ca-bundle.crt" }),
    edited,
  );
});

Deno.test("setManifestFlags refuses a manifest without a command", () => {
  assert.throws(
    () => setManifestFlags("kind: Pod\nspec: {}\n", { "--x": "y" }, "/m/kube-x.yaml"),
    /\/m\/kube-x.yaml: spec.containers\[0\].command is missing/,
  );
});

Deno.test("setManifestAnnotation sets and changes a pod annotation", () => {
  const once = setManifestAnnotation(manifest, "ca-rotator.dev/restarted-by", "restart-apiservers");
  assert.equal(manifestAnnotation(once, "ca-rotator.dev/restarted-by"), "restart-apiservers");
  assert.equal(
    manifestAnnotation(once, "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"),
    "127.0.1.1:6443",
  );
  const bare = setManifestAnnotation("metadata:\n  name: x\n", "a", "b");
  assert.equal(manifestAnnotation(bare, "a"), "b");
});
