import assert from "node:assert/strict";
import { collectionPath, errorText, refName } from "./_watch_object.ts";

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

Deno.test("errorText: fetch's reason from its cause; no other cause (a client error's response)", () => {
  const refused = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): tcp connect error: Connection refused"),
  });
  assert.equal(
    errorText(refused),
    "fetch failed: client error (Connect): tcp connect error: Connection refused",
  );
  const forbidden = new Error('deployments.apps "web" is forbidden: cannot patch', {
    cause: new Error('HTTP-Code: 403 Headers: {"audit-id":"1"} Body: "{\\"kind\\":\\"Status\\"}"'),
  });
  assert.equal(errorText(forbidden), 'deployments.apps "web" is forbidden: cannot patch');
  assert.equal(errorText("plain"), "plain");
});
