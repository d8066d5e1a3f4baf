import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { authorityKeyId, authorityKeyIdentifierFor, subjectKeyId } from "./key_identifier.ts";
import { generateCa } from "./ca.ts";
import { toHex } from "./fingerprint.ts";

Deno.test("authorityKeyIdentifierFor: the CA's SKI when it has one", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const aki = await authorityKeyIdentifierFor(ca.cert);
  assert.ok(subjectKeyId(ca.cert));
  assert.equal(aki.keyId, subjectKeyId(ca.cert));
});

Deno.test("authorityKeyIdentifierFor: SHA-1 of the CA key when it has no SKI", async () => {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const bare = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=bare",
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  assert.equal(subjectKeyId(bare), undefined);
  assert.equal(authorityKeyId(bare), undefined);
  const aki = await authorityKeyIdentifierFor(bare);
  assert.equal(aki.keyId, toHex(await bare.publicKey.getKeyIdentifier()));
});
