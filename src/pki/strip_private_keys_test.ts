import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { assertNoPrivateKey, stripPrivateKeys } from "./strip_private_keys.ts";
import { STAND_IN_LABEL } from "./key_stand_in.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { generateCa } from "./ca.ts";
import { containsPrivateKey } from "./pem.ts";

function ecKey(type: "pkcs8" | "sec1"): string {
  return generateKeyPairSync("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type, format: "pem" },
  }).privateKey as unknown as string;
}

/** The base64 body lines of every PEM private key in `pems`: none may survive stripping. */
function bodies(...pems: string[]): string[] {
  return pems.flatMap((pem) =>
    pem.split("\n").filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line))
  );
}

Deno.test("stripPrivateKeys: PEM keys, kubeconfig client-key-data and tokens leave no key behind", async () => {
  const sec1 = ecKey("sec1");
  const pkcs8 = ecKey("pkcs8");
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "users:",
    "- name: admin",
    "  user:",
    `    client-certificate-data: ${btoa(ca.certPem)}`,
    `    client-key-data: ${btoa(pkcs8)}`,
    "    token: abcdef.0123456789abcdef",
    "",
  ].join("\n");
  const kubeletPem = ca.certPem + sec1;
  for (
    const [text, keys] of [[sec1, [sec1]], [kubeconfig, [pkcs8]], [kubeletPem, [sec1]]] as const
  ) {
    const stripped = await stripPrivateKeys(text, "test");
    assert.ok(!containsPrivateKey(stripped.text), stripped.text);
    for (const line of bodies(...keys)) {
      assert.ok(
        !stripped.text.includes(line),
        "a key line survived",
      );
    }
    assert.ok(!stripped.text.includes(btoa(pkcs8)));
    assert.ok(stripped.removed.length >= 1);
  }
  const kc = await stripPrivateKeys(kubeconfig, "admin.conf");
  assert.match(kc.text, /token: ca-rotator-stripped-sha256-[0-9a-f]{64}/);
  assert.ok(kc.text.includes(btoa(ca.certPem)), "the certificate is kept");
  assert.ok(atob(/client-key-data: (\S+)/.exec(kc.text)![1]).includes(STAND_IN_LABEL));
  // Deterministic: the same key strips to the same stand-in (a dry run compares file contents).
  assert.equal((await stripPrivateKeys(sec1, "a")).text, (await stripPrivateKeys(sec1, "b")).text);
});

Deno.test("assertNoPrivateKey catches an unstripped key, plain or base64 (negative control)", () => {
  const key = ecKey("sec1");
  assert.throws(
    () => assertNoPrivateKey(key, "node-1:/etc/kubernetes/pki/ca.key"),
    /node-1:.*ca\.key still holds a private key/,
  );
  assert.throws(
    () => assertNoPrivateKey(`client-key-data: ${btoa(key)}`, "admin.conf"),
    /still holds/,
  );
  assertNoPrivateKey("just text", "x");
});

Deno.test("a stand-in reads as a key that matches the real key's certificate, and signs", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const other = await generateCa({ keyType: "ecdsa-p256" });
  const standIn = (await stripPrivateKeys(ca.keyPem, "ca.key")).text;
  const parsed = await parsePrivateKey(standIn, "ca.key");
  assert.ok(await keyMatchesCertificate(parsed.privateKey, ca.cert));
  assert.ok(!(await keyMatchesCertificate(parsed.privateKey, other.cert)), "negative control");
  assert.equal(parsed.format, "sec1");
});
