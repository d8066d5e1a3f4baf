import assert from "node:assert/strict";
import { collectionPath, refName } from "./_watch_object.ts";

Deno.test("collectionPath: core and named groups, namespaced and cluster-scoped", () => {
  assert.equal(
    collectionPath({ apiVersion: "apps/v1", kind: "Deployment", namespace: "team-a", name: "web" }),
    "/apis/apps/v1/namespaces/team-a/deployments",
  );
  assert.equal(
    collectionPath({ apiVersion: "v1", kind: "ConfigMap", namespace: "kube-public", name: "x" }),
    "/api/v1/namespaces/kube-public/configmaps",
  );
  assert.equal(
    collectionPath({ apiVersion: "v1", kind: "Node", name: "worker-1" }),
    "/api/v1/nodes",
  );
  assert.throws(
    () => collectionPath({ apiVersion: "v1", kind: "Gizmo", name: "g" }),
    /cannot watch/,
  );
});

Deno.test("refName: kind, namespace and name", () => {
  assert.equal(
    refName({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      namespace: "kube-system",
      name: "kube-proxy",
    }),
    "DaemonSet/kube-system/kube-proxy",
  );
  assert.equal(refName({ apiVersion: "v1", kind: "Node", name: "cp-1" }), "Node/cp-1");
});
