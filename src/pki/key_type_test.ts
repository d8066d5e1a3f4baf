import assert from "node:assert/strict";
import { describeKey, generateKeyPair, type KeyType, signingAlgorithm } from "./key_type.ts";

Deno.test("generateKeyPair: each EC type and RSA 2048, described back", async () => {
  for (const type of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] as KeyType[]) {
    const keys = await generateKeyPair(type);
    assert.equal(describeKey(keys.privateKey), type);
    assert.equal(describeKey(keys.publicKey), type);
    assert.equal(keys.privateKey.extractable, true);
  }
});

Deno.test("generateKeyPair: unknown types are refused", async () => {
  await assert.rejects(generateKeyPair("dsa-1024" as KeyType), /Unknown key type "dsa-1024"/);
});

Deno.test("signingAlgorithm: SHA-256 for RSA and P-256, SHA-384 for P-384", async () => {
  const rsa = await generateKeyPair("rsa-2048");
  assert.deepEqual(signingAlgorithm(rsa.privateKey), {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
  });
  const p256 = await generateKeyPair("ecdsa-p256");
  assert.deepEqual(signingAlgorithm(p256.privateKey), { name: "ECDSA", hash: "SHA-256" });
  const p384 = await generateKeyPair("ecdsa-p384");
  assert.deepEqual(signingAlgorithm(p384.privateKey), { name: "ECDSA", hash: "SHA-384" });
  const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  assert.throws(() => signingAlgorithm(hmac), /Unsupported signing key algorithm "HMAC"/);
});
