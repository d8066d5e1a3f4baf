import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import { renderJson } from "./json.ts";
import { assertNoKeyMaterial, generateTestKeys } from "./_test_keys.ts";

const keys = generateTestKeys();
const other = generateTestKeys();

const changes: Change[] = [
  {
    action: "update",
    target: { type: "file", node: "cp-1", path: "/etc/kubernetes/pki/ca.key", mode: 0o600 },
    before: keys.rsa,
    after: other.rsa,
    sensitive: true,
    reason: "new CA",
  },
  {
    action: "update",
    target: { type: "file", node: "cp-1", path: "/etc/kubernetes/admin.conf" },
    before: `kind: Config\nusers:\n- user:\n    client-key-data: ${btoa(keys.ec)}\n`,
    after: `kind: Config\nusers:\n- user:\n    client-key-data: ${btoa(other.ec)}\n`,
  },
  {
    action: "create",
    target: {
      type: "object",
      apiVersion: "v1",
      kind: "Secret",
      namespace: "kube-system",
      name: "ca",
    },
    after: `kind: Secret\nstringData:\n  tls.key: |\n${
      keys.pkcs8.trimEnd().split("\n").map((l) => `    ${l}`).join("\n")
    }\n`,
  },
  { action: "restart", target: { type: "component", node: "cp-1", component: "kube-apiserver" } },
];

Deno.test("renderJson() holds no key material", () => {
  const text = JSON.stringify(renderJson(changes));
  for (const pem of [keys.rsa, other.rsa, keys.ec, other.ec, keys.pkcs8]) {
    assertNoKeyMaterial(text, pem);
    assertNoKeyMaterial(
      JSON.parse(text).changes.map((c: { diff?: string }) => c.diff).join(""),
      pem,
    );
  }
  assert.ok(!text.includes(btoa(keys.ec).slice(0, 24)));
});

Deno.test("renderJson() lists each change with its masked diff, and the summary", () => {
  const plan = renderJson(changes, { stepId: "trust-distribute" });
  assert.equal(plan.changes.length, 4);
  const [key, kubeconfig, secret, restart] = plan.changes;
  assert.deepEqual(
    { ...key, diff: undefined },
    {
      stepId: "trust-distribute",
      action: "update",
      name: "cp-1:/etc/kubernetes/pki/ca.key",
      target: { type: "file", node: "cp-1", path: "/etc/kubernetes/pki/ca.key", mode: 0o600 },
      sensitive: true,
      reason: "new CA",
      diff: undefined,
    },
  );
  assert.match(key.diff ?? "", /^-\(masked, sha256:[0-9a-f]{8}\)$/m);
  assert.match(key.diff ?? "", /^\+\(masked, sha256:[0-9a-f]{8}\)$/m);
  assert.match(kubeconfig.diff ?? "", /^- {4}client-key-data: \(masked/m);
  assert.match(kubeconfig.diff ?? "", /^\+ {4}client-key-data: \(masked/m);
  assert.match(secret.diff ?? "", /^--- \/dev\/null\n\+\+\+ b\/Secret\/kube-system\/ca\n/);
  assert.match(secret.diff ?? "", /^\+ {2}tls\.key: \(masked/m);
  assert.deepEqual(restart, {
    stepId: "trust-distribute",
    action: "restart",
    name: "cp-1/kube-apiserver",
    target: { type: "component", node: "cp-1", component: "kube-apiserver" },
    sensitive: false,
  });
  assert.equal(plan.summary.files, 2);
  assert.equal(plan.summary.objects, 1);
  assert.equal(plan.summary.restarts, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

Deno.test("renderJson() of no changes is an empty list and an unchanged summary", () => {
  const plan = renderJson([]);
  assert.deepEqual(plan.changes, []);
  assert.equal(plan.summary.changed, false);
});
