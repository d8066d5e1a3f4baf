import assert from "node:assert/strict";
import { maskAll, maskSecrets } from "./mask.ts";
import { assertNoKeyMaterial, generateTestKeys, pemBody } from "./_test_keys.ts";

const keys = generateTestKeys();
const MARKER = /^\(masked, sha256:[0-9a-f]{8}\)$/;
const CERT =
  "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMA0xCzAJBgNVBAYTAlVT\n" +
  "-----END CERTIFICATE-----\n";

for (const [kind, pem] of Object.entries(keys)) {
  Deno.test(`maskSecrets() masks the body of a ${kind} private key, keeping BEGIN and END`, () => {
    const lines = pem.trimEnd().split("\n");
    const masked = maskSecrets(pem);
    assertNoKeyMaterial(masked, pem);
    assert.deepEqual(masked.split("\n"), [lines[0], masked.split("\n")[1], lines.at(-1), ""]);
    assert.match(lines[0], /^-----BEGIN [A-Z ]*PRIVATE KEY-----$/);
    assert.match(masked.split("\n")[1], MARKER);
  });
}

Deno.test("maskSecrets() gives different markers for different keys and equal ones for equal", () => {
  assert.notEqual(maskSecrets(keys.pkcs8), maskSecrets(generateTestKeys().pkcs8));
  assert.equal(maskSecrets(keys.pkcs8), maskSecrets(keys.pkcs8));
});

Deno.test("maskSecrets() leaves certificates, public keys and plain text alone", () => {
  const text =
    `name: x\n${CERT}-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n` +
    "-----END PUBLIC KEY-----\n";
  assert.equal(maskSecrets(text), text);
});

Deno.test("maskSecrets() masks a key next to a certificate and keeps the certificate", () => {
  const masked = maskSecrets(`${CERT}${keys.rsa}`);
  assert.ok(masked.startsWith(CERT));
  assertNoKeyMaterial(masked, keys.rsa);
});

Deno.test("maskSecrets() keeps the indentation of a key in a YAML block scalar", () => {
  const indented = keys.ec.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
  const masked = maskSecrets(`data:\n  tls.key: |\n${indented}\n  other: 1\n`);
  assertNoKeyMaterial(masked, keys.ec);
  const lines = masked.split("\n");
  assert.equal(lines[2], "    -----BEGIN EC PRIVATE KEY-----");
  assert.match(lines[3], /^ {4}\(masked, sha256:[0-9a-f]{8}\)$/);
  assert.equal(lines[4], "    -----END EC PRIVATE KEY-----");
  assert.equal(lines[5], "  other: 1");
});

Deno.test("maskSecrets() masks a key written with escaped newlines inside a JSON string", () => {
  const json = JSON.stringify({ key: keys.pkcs8 });
  const masked = maskSecrets(json);
  assertNoKeyMaterial(masked, keys.pkcs8);
  const parsed = JSON.parse(masked);
  assert.match(
    parsed.key,
    /^-----BEGIN PRIVATE KEY-----\n\(masked, sha256:[0-9a-f]{8}\)\n-----END/,
  );
});

Deno.test("maskSecrets() masks a truncated key to the end of the text", () => {
  const truncated = keys.rsa.split("\n").slice(0, 6).join("\n") + "\n";
  const masked = maskSecrets(`before\n${truncated}`);
  assert.equal(masked.split("\n")[0], "before");
  assert.equal(masked.split("\n")[1], "-----BEGIN RSA PRIVATE KEY-----");
  assertNoKeyMaterial(masked, truncated);
});

Deno.test("maskSecrets() masks a key whose END label does not match its BEGIN", () => {
  const pem = keys.rsa.replace("-----END RSA PRIVATE KEY-----", "-----END PRIVATE KEY-----");
  assertNoKeyMaterial(maskSecrets(pem), keys.rsa);
});

Deno.test("maskSecrets() masks kubeconfig client-key-data and credentials, not CA data", () => {
  const caData = btoa(CERT);
  const keyData = btoa(keys.ec);
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${caData}`,
    "    server: https://10.0.0.1:6443",
    "  name: kubernetes",
    "users:",
    "- name: admin",
    "  user:",
    `    client-certificate-data: ${caData}`,
    `    client-key-data: ${keyData}`,
    "- name: bot",
    "  user:",
    "    token: abcdef.0123456789abcdef",
    "",
  ].join("\n");
  const masked = maskSecrets(kubeconfig);
  const lines = masked.split("\n");
  assert.equal(lines[4], `    certificate-authority-data: ${caData}`);
  assert.equal(lines[10], `    client-certificate-data: ${caData}`);
  assert.match(lines[11], /^ {4}client-key-data: \(masked, sha256:[0-9a-f]{8}\)$/);
  assert.match(lines[14], /^ {4}token: \(masked, sha256:[0-9a-f]{8}\)$/);
  assert.ok(!masked.includes(keyData.slice(0, 40)));
  assert.ok(!masked.includes("0123456789abcdef"));
  assertNoKeyMaterial(masked, keys.ec);
});

Deno.test("maskSecrets() masks client-key-data even when it is not base64 of a key", () => {
  const masked = maskSecrets("    client-key-data: bm90IGEga2V5\n");
  assert.match(masked, /^ {4}client-key-data: \(masked, sha256:[0-9a-f]{8}\)\n$/);
});

Deno.test("maskSecrets() leaves token: alone outside a kubeconfig", () => {
  const text = "kind: ConfigMap\ndata:\n  token: not-a-secret\n";
  assert.equal(maskSecrets(text), text);
});

Deno.test("maskSecrets() masks base64 that decodes to a private key anywhere", () => {
  const encoded = btoa(keys.rsa);
  for (const text of [`key=${encoded}\n`, `{"k":"${encoded}"}`, `  ca.key: ${encoded}\n`]) {
    const masked = maskSecrets(text);
    assert.ok(!masked.includes(encoded.slice(0, 24)), masked);
    assert.match(masked, /\(masked, sha256:[0-9a-f]{8}\)/);
  }
  const cert = btoa(CERT);
  assert.equal(maskSecrets(`ca: ${cert}\n`), `ca: ${cert}\n`);
});

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: ca-rotator-new-ca
  namespace: kube-system
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
type: Opaque
data:
  ca.crt: ${btoa(CERT)}
  password: aHVudGVyMg==
stringData:
  note: |
    first line
    second line
  plain: hunter2
`;

Deno.test("maskSecrets() masks every data and stringData value of a Secret, keeping keys", () => {
  const masked = maskSecrets(SECRET);
  const lines = masked.split("\n");
  const value = (key: string) => {
    const line = lines.find((l) => l.trimStart().startsWith(`${key}:`));
    assert.ok(line, `${key} is kept`);
    return line.slice(line.indexOf(":") + 1).trim();
  };
  for (const key of ["ca.crt", "password", "note", "plain"]) assert.match(value(key), MARKER);
  assert.match(
    value("kubectl.kubernetes.io/last-applied-configuration"),
    /^'\(masked, sha256:[0-9a-f]{8}\)'$/,
  );
  for (const secret of ["aHVudGVyMg==", "hunter2", "first line", "second line", btoa(CERT)]) {
    assert.ok(!masked.includes(secret), `${secret} leaked:\n${masked}`);
  }
  // Everything else is kept as written.
  assert.ok(
    masked.startsWith("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-rotator-new-ca\n"),
  );
  assert.ok(masked.includes("type: Opaque\ndata:\n  ca.crt: "));
  assert.ok(masked.endsWith("\n"));
});

Deno.test("maskSecrets() shows a changed Secret value as a changed marker", () => {
  const changed = SECRET.replace("aHVudGVyMg==\n", "czNjcjN0\n");
  const before = maskSecrets(SECRET).split("\n");
  const after = maskSecrets(changed).split("\n");
  const differing = before.filter((line, i) => line !== after[i]);
  assert.equal(differing.length, 1);
  assert.match(differing[0], /^ {2}password: \(masked/);
});

Deno.test("maskSecrets() masks a Secret written as JSON and a Secret inside a List", () => {
  const json = JSON.stringify(
    { apiVersion: "v1", kind: "Secret", data: { k: "c2VjcmV0" } },
    null,
    2,
  );
  const masked = maskSecrets(json);
  assert.ok(!masked.includes("c2VjcmV0"));
  assert.match(JSON.parse(masked).data.k, MARKER);

  const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  data:
    k: c2VjcmV0
- apiVersion: v1
  kind: ConfigMap
  data:
    k: visible
`;
  const maskedList = maskSecrets(list);
  assert.ok(!maskedList.includes("c2VjcmV0"));
  assert.ok(maskedList.includes("k: visible"));
});

Deno.test("maskSecrets() masks a Secret in a multi-document stream, not its neighbours", () => {
  const text = "kind: ConfigMap\ndata:\n  a: shown\n---\nkind: Secret\ndata:\n  b: hidden\n";
  const masked = maskSecrets(text);
  assert.ok(
    masked.startsWith("kind: ConfigMap\ndata:\n  a: shown\n---\nkind: Secret\ndata:\n  b: ("),
  );
  assert.ok(!masked.includes("hidden"));
});

Deno.test("maskSecrets() leaves ConfigMap data alone", () => {
  const text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  Secret: shown\n";
  assert.equal(maskSecrets(text), text);
});

Deno.test("maskSecrets() masks the values of a Secret that is not valid YAML", () => {
  const text = "kind: Secret\ndata:\n  a: c2VjcmV0\n  b: [unclosed\nmetadata:\n  name: x\n";
  const masked = maskSecrets(text);
  assert.ok(!masked.includes("c2VjcmV0"));
  assert.ok(!masked.includes("unclosed"));
  assert.ok(masked.includes("  a: (masked"));
  assert.ok(masked.endsWith("metadata:\n  name: x\n"));
});

Deno.test("maskSecrets() is idempotent", () => {
  for (const text of [SECRET, keys.rsa, `client-key-data: ${btoa(keys.ec)}\n`, btoa(keys.pkcs8)]) {
    const once = maskSecrets(text);
    assert.equal(maskSecrets(once), once);
  }
});

Deno.test("maskAll() leaves nothing but PEM armour and markers", () => {
  const text = `# comment with a secret: hunter2\n${keys.rsa}${CERT}trailing\n`;
  const masked = maskAll(text);
  assertNoKeyMaterial(masked, keys.rsa);
  assert.ok(!masked.includes("hunter2"));
  assert.ok(!masked.includes(pemBody(CERT).slice(0, 16)));
  for (const line of masked.trimEnd().split("\n")) {
    assert.match(line, /^(-----(BEGIN|END) [A-Z ]+-----|\(masked, sha256:[0-9a-f]{8}\))$/);
  }
  assert.notEqual(maskAll(text), maskAll(text.replace("hunter2", "hunter3")));
});
