import assert from "node:assert/strict";
import { probeUrl } from "./_component_health.ts";
import { LocalNode } from "../nodes/local.ts";

const apiserver = `apiVersion: v1
kind: Pod
spec:
  containers:
  - command: [kube-apiserver]
    livenessProbe:
      httpGet:
        host: 198.18.1.1
        path: /livez
        port: probe-port
        scheme: HTTPS
    ports:
    - containerPort: 6443
      name: probe-port
      protocol: TCP
    readinessProbe:
      httpGet:
        host: 198.18.1.1
        path: /readyz
        port: probe-port
        scheme: HTTPS
`;

Deno.test("probeUrl prefers the readiness probe and resolves kubeadm's named probe port", () => {
  assert.equal(probeUrl(apiserver), "https://198.18.1.1:6443/readyz");
});

Deno.test("probeUrl takes numeric ports and defaults the host to 127.0.0.1", () => {
  const scheduler = `kind: Pod
spec:
  containers:
  - command: [kube-scheduler]
    livenessProbe:
      httpGet:
        path: /livez
        port: 10259
        scheme: HTTPS
`;
  assert.equal(probeUrl(scheduler), "https://127.0.0.1:10259/livez");
  assert.equal(probeUrl("kind: Pod\nspec:\n  containers:\n  - name: x\n"), undefined);
});

Deno.test("a local test node maps loopback probe URLs to its own address", () => {
  const node = new LocalNode({ name: "cp-1", root: "/r", backupDir: "/b", address: "198.18.1.2" });
  assert.equal(
    node.reachableUrl("https://127.0.0.1:10257/healthz"),
    "https://198.18.1.2:10257/healthz",
  );
  assert.equal(node.reachableUrl("https://localhost/x"), "https://198.18.1.2/x");
  assert.equal(node.reachableUrl("https://127.0.0.10:1/x"), "https://127.0.0.10:1/x");
});
