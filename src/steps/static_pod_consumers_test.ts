// Which static pods mount kubeconfigs or the PKI directory, read from the node roots of the step
// tests with the local driver (its manifest listing is a command on the node, as over ssh).
import assert from "node:assert/strict";
import { PRESET_LAYOUTS } from "../plan/layout.ts";
import { findStaticPodConsumers, nodeFileMounts } from "./static_pod_consumers.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";
import { MANIFESTS } from "./_test_kubeadm_files.ts";
import { staticPodManifest } from "./_test_static_pods.ts";

const LAYOUT = PRESET_LAYOUTS.kubeadm;

Deno.test("nodeFileMounts: kubeconfigs of the kubeconfig directory, the PKI directory, or a directory above either", () => {
  assert.deepEqual(
    nodeFileMounts([
      "/etc/kubernetes/admin.conf",
      "/etc/kubernetes/super-admin.conf/",
      "/etc/kubernetes/pki",
      "/etc/kubernetes/pki/etcd",
      "/etc/kubernetes",
      "/etc",
      "/",
      "/etc/kubernetes/kubelet.conf",
    ], LAYOUT),
    [
      "/etc/kubernetes/admin.conf",
      "/etc/kubernetes/super-admin.conf/",
      "/etc/kubernetes/pki",
      "/etc/kubernetes/pki/etcd",
      "/etc/kubernetes",
      "/etc",
      "/",
      "/etc/kubernetes/kubelet.conf",
    ],
  );
  // Negative controls: neighbours that hold neither.
  assert.deepEqual(
    nodeFileMounts([
      "/etc/kubernetes/manifests",
      "/etc/kubernetes/admin.yaml",
      "/etc/kubernetes-pki",
      "/etc/kubernetes/pki-backup",
      "/var/log",
      "/etc/ssl/certs",
      "relative/admin.conf",
    ], LAYOUT),
    [],
  );
});

Deno.test("findStaticPodConsumers: every pod that mounts them, besides the control-plane components, on every node", async () => {
  await using cluster = await LocalNodesCluster.create();
  await cluster.put(
    "cp-1",
    `${MANIFESTS}/kube-vip.yaml`,
    staticPodManifest("kube-vip", ["/etc/kubernetes/super-admin.conf"]),
    0o600,
  );
  await cluster.put(
    "cp-2",
    `${MANIFESTS}/kube-vip.yaml`,
    staticPodManifest("kube-vip", ["/etc/kubernetes/admin.conf"]),
  );
  await cluster.put(
    "worker-1",
    `${MANIFESTS}/konnectivity.yaml`,
    staticPodManifest("konnectivity-agent", ["/var/log", "/etc/kubernetes/pki/ca.crt"]),
  );
  // Neither mounts what a rotation changes; a hidden file and a file that is no Pod are skipped.
  await cluster.put("cp-1", `${MANIFESTS}/logger.yaml`, staticPodManifest("logger", ["/var/log"]));
  await cluster.put(
    "cp-1",
    `${MANIFESTS}/.kube-vip.yaml.swp`,
    staticPodManifest("swap", ["/etc/kubernetes"]),
  );
  await cluster.put("cp-2", `${MANIFESTS}/notes.txt`, "not a pod\n");

  const found = await findStaticPodConsumers(cluster.nodes, cluster.layout);

  // The kubeadm manifests of the test nodes (kube-apiserver, … mounting the PKI directory) are
  // there too, and left out: the plan's own steps restart them.
  assert.deepEqual(found, [
    {
      node: "cp-1",
      name: "kube-vip",
      namespace: "kube-system",
      manifest: `${MANIFESTS}/kube-vip.yaml`,
      mounts: ["/etc/kubernetes/super-admin.conf"],
    },
    {
      node: "cp-2",
      name: "kube-vip",
      namespace: "kube-system",
      manifest: `${MANIFESTS}/kube-vip.yaml`,
      mounts: ["/etc/kubernetes/admin.conf"],
    },
    {
      node: "worker-1",
      name: "konnectivity-agent",
      namespace: "kube-system",
      manifest: `${MANIFESTS}/konnectivity.yaml`,
      mounts: ["/etc/kubernetes/pki/ca.crt"],
    },
  ]);
  const components = await Array.fromAsync(Deno.readDir(cluster.node("cp-1").hostPath(MANIFESTS)));
  assert.ok(
    components.some((entry) => entry.name === "kube-apiserver.yaml"),
    "the control-plane manifests are there to be left out",
  );
});

Deno.test("findStaticPodConsumers: a node without a manifest directory has none", async () => {
  await using cluster = await LocalNodesCluster.create();
  await Deno.remove(cluster.node("worker-1").hostPath(MANIFESTS), { recursive: true }).catch(
    () => {},
  );
  const found = await findStaticPodConsumers([cluster.node("worker-1")], cluster.layout);
  assert.deepEqual(found, []);
});
