import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import { renderChanges } from "./render.ts";
import { assertNoKeyMaterial, generateTestKeys } from "./_test_keys.ts";

const keys = generateTestKeys();
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/;

const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=10.0.0.11
    - --allow-privileged=true
    - --authorization-mode=Node,RBAC
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    image: registry.k8s.io/kube-apiserver:v1.33.0
`;

const manifestUpdate: Change = {
  action: "update",
  target: { type: "file", node: "cp-1", path: "/etc/kubernetes/manifests/kube-apiserver.yaml" },
  before: MANIFEST,
  after: MANIFEST.replace("pki/ca.crt", "pki/ca-bundle.crt"),
};

const keyFile = (before: string, after: string): Change => ({
  action: "update",
  target: { type: "file", node: "cp-1", path: "/etc/kubernetes/pki/ca.key", mode: 0o600 },
  before,
  after,
});

Deno.test("renderChanges() shows a file update as a unified diff hunk", () => {
  assert.equal(
    renderChanges([manifestUpdate], { color: false }),
    [
      "~ update cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml",
      "--- a/cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml",
      "+++ b/cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml",
      "@@ -10,7 +10,7 @@",
      "     - --advertise-address=10.0.0.11",
      "     - --allow-privileged=true",
      "     - --authorization-mode=Node,RBAC",
      "-    - --client-ca-file=/etc/kubernetes/pki/ca.crt",
      "+    - --client-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
      "     - --enable-admission-plugins=NodeRestriction",
      "     - --etcd-servers=https://127.0.0.1:2379",
      "     - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
      "",
    ].join("\n"),
  );
});

Deno.test("renderChanges() shows restarts and rolls as one line each", () => {
  const changes: Change[] = [
    { action: "restart", target: { type: "component", node: "cp-1", component: "kube-apiserver" } },
    {
      action: "roll",
      target: { type: "workload", kind: "Deployment", namespace: "default", name: "web" },
    },
  ];
  assert.equal(
    renderChanges(changes, { color: false }),
    "~ restart cp-1/kube-apiserver\n~ roll Deployment/default/web\n",
  );
});

Deno.test("renderChanges() prefixes headers with the step id and shows reason and mode", () => {
  const out = renderChanges([
    { ...keyFile("", "x\n"), action: "create", before: undefined, reason: "new CA key" },
    {
      action: "restart",
      target: { type: "component", node: "cp-2", component: "kube-scheduler" },
      reason: "client CA changed",
    },
  ], { color: false, stepId: "trust-distribute" });
  const lines = out.split("\n");
  assert.equal(
    lines[0],
    "[trust-distribute] + create cp-1:/etc/kubernetes/pki/ca.key (mode 0600)  # new CA key",
  );
  assert.equal(lines[1], "--- /dev/null");
  assert.ok(
    lines.includes("[trust-distribute] ~ restart cp-2/kube-scheduler  # client CA changed"),
  );
});

Deno.test("renderChanges() skips changes with nothing to do and renders nothing for none", () => {
  assert.equal(renderChanges([], { color: false }), "");
  assert.equal(renderChanges([{ ...manifestUpdate, after: MANIFEST }], { color: false }), "");
});

Deno.test("renderChanges() never shows a private key, before or after", () => {
  const other = generateTestKeys().pkcs8;
  for (const sensitive of [false, true]) {
    const out = renderChanges([{ ...keyFile(keys.pkcs8, other), sensitive }], { color: false });
    assertNoKeyMaterial(out, keys.pkcs8);
    assertNoKeyMaterial(out, other);
  }
  // Also in a file that is not marked sensitive and holds a key among other text.
  const out = renderChanges(
    [{ ...keyFile(`# ca\n${keys.rsa}`, `# ca\n${keys.ec}`), target: manifestUpdate.target }],
    { color: true },
  );
  assertNoKeyMaterial(out, keys.rsa);
  assertNoKeyMaterial(out, keys.ec);
});

Deno.test("renderChanges() shows a changed masked key as a differing line", () => {
  const other = generateTestKeys().ec;
  const out = renderChanges([keyFile(keys.ec, other)], { color: false });
  const removed = out.split("\n").filter((l) => /^-\(masked, sha256:[0-9a-f]{8}\)$/.test(l));
  const added = out.split("\n").filter((l) => /^\+\(masked, sha256:[0-9a-f]{8}\)$/.test(l));
  assert.equal(removed.length, 1, out);
  assert.equal(added.length, 1, out);
  assert.notEqual(removed[0].slice(1), added[0].slice(1));
  assert.ok(out.includes(" -----BEGIN EC PRIVATE KEY-----\n"), "armour is context");
});

Deno.test("renderChanges() shows nothing but masked lines for a sensitive change", () => {
  const out = renderChanges([{
    action: "update",
    target: { type: "file", node: "cp-1", path: "/etc/kubernetes/token.csv" },
    before: "s3cr3t-token,admin,1\n",
    after: "n3w-token,admin,1\n",
    sensitive: true,
  }], { color: false });
  assert.ok(!out.includes("token,admin"), out);
  assert.ok(!out.includes("s3cr3t"), out);
  assert.equal(out.split("\n")[0], "~ update cp-1:/etc/kubernetes/token.csv (sensitive)");
  assert.match(out, /\n-\(masked, sha256:[0-9a-f]{8}\)\n\+\(masked, sha256:[0-9a-f]{8}\)\n$/);
});

Deno.test("renderChanges() masks Secret data and keeps its keys", () => {
  const secret = (key: string) =>
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-rotator-ca\n  namespace: kube-system\n` +
    `type: kubernetes.io/tls\ndata:\n  tls.crt: Y2VydA==\n  tls.key: ${btoa(key)}\n`;
  const newKey = generateTestKeys().rsa;
  const out = renderChanges([{
    action: "update",
    target: {
      type: "object",
      apiVersion: "v1",
      kind: "Secret",
      namespace: "kube-system",
      name: "ca-rotator-ca",
    },
    before: secret(keys.rsa),
    after: secret(newKey),
  }], { color: false });
  assert.ok(out.startsWith("~ update Secret/kube-system/ca-rotator-ca\n"));
  assert.ok(out.includes("--- a/Secret/kube-system/ca-rotator-ca\n"));
  assert.match(out, /\n- {2}tls\.key: \(masked, sha256:[0-9a-f]{8}\)\n/);
  assert.match(out, /\n\+ {2}tls\.key: \(masked, sha256:[0-9a-f]{8}\)\n/);
  assert.match(out, /\n {3}tls\.crt: \(masked, sha256:[0-9a-f]{8}\)\n/);
  assert.ok(!out.includes(btoa(keys.rsa).slice(0, 24)));
  assert.ok(!out.includes(btoa(newKey).slice(0, 24)));
  assert.ok(!out.includes("Y2VydA=="));
});

Deno.test("renderChanges() masks a Secret target even when its text omits the kind", () => {
  const out = renderChanges([{
    action: "create",
    target: { type: "object", apiVersion: "v1", kind: "Secret", namespace: "a", name: "b" },
    after: "metadata:\n  name: b\nstringData:\n  password: hunter2\n",
  }], { color: false });
  assert.ok(!out.includes("hunter2"), out);
  assert.match(out, /\n\+stringData:\n\+ {2}password: \(masked/);
});

Deno.test("renderChanges() colours only when asked", () => {
  const changes: Change[] = [
    manifestUpdate,
    { action: "restart", target: { type: "component", node: "cp-1", component: "kube-apiserver" } },
  ];
  const plain = renderChanges(changes, { color: false });
  assert.doesNotMatch(plain, ANSI);
  const coloured = renderChanges(changes, { color: true });
  assert.ok(
    coloured.includes("\x1b[1m~ update cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml"),
  );
  assert.ok(
    coloured.includes("\x1b[32m+    - --client-ca-file=/etc/kubernetes/pki/ca-bundle.crt\x1b[0m"),
  );
  assert.ok(coloured.includes("\x1b[31m-    - --client-ca-file=/etc/kubernetes/pki/ca.crt\x1b[0m"));
  assert.ok(coloured.includes("\x1b[36m@@ -10,7 +10,7 @@\x1b[0m"));
  assert.ok(coloured.includes("\x1b[1m~ restart cp-1/kube-apiserver\x1b[0m"));
  // Context lines stay plain; stripping the codes gives the plain output.
  assert.ok(coloured.includes("\n     - --allow-privileged=true\n"));
  // deno-lint-ignore no-control-regex
  assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ""), plain);
});

Deno.test("renderChanges() does not pass escape sequences from content to the terminal", () => {
  const out = renderChanges([{
    ...manifestUpdate,
    after: MANIFEST.replace("- kube-apiserver\n", "- kube-apiserver\x1b[2J\n"),
  }], { color: false });
  assert.doesNotMatch(out, ANSI);
  assert.ok(!out.includes("\x1b"));
  assert.ok(out.includes("+    - kube-apiserver\\x1b[2J\n"));
});
