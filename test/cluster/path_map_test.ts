import assert from "node:assert/strict";
import { hostPath, mapArgument, mapCommand, mapHost } from "./path_map.ts";

const node = { root: "/tmp/c/nodes/cp-1", ip: "198.18.1.1" };

Deno.test("mapArgument maps node paths into the node root", () => {
  assert.equal(
    mapArgument("--client-ca-file=/etc/kubernetes/pki/ca.crt", node),
    "--client-ca-file=/tmp/c/nodes/cp-1/etc/kubernetes/pki/ca.crt",
  );
  assert.equal(
    mapArgument("--data-dir=/var/lib/etcd", node),
    "--data-dir=/tmp/c/nodes/cp-1/var/lib/etcd",
  );
  assert.equal(
    mapArgument("--kubeconfig=/etc/kubernetes/scheduler.conf", node),
    "--kubeconfig=/tmp/c/nodes/cp-1/etc/kubernetes/scheduler.conf",
  );
});

Deno.test("mapArgument leaves other paths and look-alikes alone", () => {
  assert.equal(
    mapArgument("--flex=/usr/libexec/kubernetes", node),
    "--flex=/usr/libexec/kubernetes",
  );
  assert.equal(mapArgument("--x=/etc/kubernetesfoo", node), "--x=/etc/kubernetesfoo");
  assert.equal(
    mapArgument("--service-account-issuer=https://kubernetes.default.svc.cluster.local", node),
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
  );
});

Deno.test("mapArgument maps loopback and wildcard addresses and dedupes URL lists", () => {
  assert.equal(mapArgument("--bind-address=127.0.0.1", node), "--bind-address=198.18.1.1");
  assert.equal(
    mapArgument("--listen-client-urls=https://127.0.0.1:2379,https://198.18.1.1:2379", node),
    "--listen-client-urls=https://198.18.1.1:2379",
  );
  assert.equal(
    mapArgument("--etcd-servers=https://127.0.0.1:2379", node),
    "--etcd-servers=https://198.18.1.1:2379",
  );
  assert.equal(
    mapArgument("--listen-metrics-urls=http://127.0.0.1:2381", node),
    "--listen-metrics-urls=http://198.18.1.1:2381",
  );
  assert.equal(mapArgument("--x=127.0.0.10", node), "--x=127.0.0.10");
});

Deno.test("mapCommand resolves the binary and pins the bind address", () => {
  assert.deepEqual(mapCommand(["kube-apiserver", "--secure-port=6443"], node, "/bin/k"), [
    "/bin/k/kube-apiserver",
    "--secure-port=6443",
    "--bind-address=198.18.1.1",
  ]);
  assert.deepEqual(mapCommand(["kube-scheduler", "--bind-address=127.0.0.1"], node, "/b"), [
    "/b/kube-scheduler",
    "--bind-address=198.18.1.1",
  ]);
  assert.deepEqual(mapCommand(["etcd", "--name=a"], node, "/b"), ["/b/etcd", "--name=a"]);
});

Deno.test("hostPath and mapHost", () => {
  assert.equal(hostPath("/r", "/etc/kubernetes/admin.conf"), "/r/etc/kubernetes/admin.conf");
  assert.throws(() => hostPath("/r", "etc/x"), /not an absolute path/);
  assert.equal(mapHost(undefined, node), "198.18.1.1");
  assert.equal(mapHost("127.0.0.1", node), "198.18.1.1");
  assert.equal(mapHost("198.18.1.2", node), "198.18.1.2");
});
