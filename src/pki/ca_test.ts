import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { CA_VALIDITY_DAYS, generateCa, type GeneratedCa, isCa, loadCa } from "./ca.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { decodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { generateKeyPair } from "./key_type.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

const DAY = 24 * 60 * 60 * 1000;

async function checkCa(ca: GeneratedCa, keyAlg: string, keyLabel: string) {
  assert.equal(ca.cert.subject, "CN=kubernetes");
  assert.equal(ca.cert.issuer, "CN=kubernetes");
  assert.equal(await ca.cert.isSelfSigned(), true);
  assert.equal(ca.cert.publicKey.algorithm.name, keyAlg);

  const bc = ca.cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc, "basicConstraints present");
  assert.equal(bc.ca, true);
  assert.equal(bc.critical, true);
  const ku = ca.cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(ku, "keyUsage present");
  assert.equal(ku.critical, true);
  assert.equal(
    ku.usages,
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
      x509.KeyUsageFlags.digitalSignature,
  );
  const ski = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  assert.ok(ski, "subjectKeyIdentifier present");
  assert.equal(ski.keyId, toHex(await ca.cert.publicKey.getKeyIdentifier()));

  const lifetime = ca.cert.notAfter.getTime() - Date.now();
  assert.ok(Math.abs(lifetime - CA_VALIDITY_DAYS * DAY) < DAY, "valid for ten years");
  assert.ok(ca.cert.notBefore.getTime() <= Date.now(), "valid now");

  assert.equal(decodePem(ca.keyPem)[0].label, keyLabel);
  const key = await parsePrivateKey(ca.keyPem);
  assert.equal(await keyMatchesCertificate(key.privateKey, ca.cert), true);
  assert.ok(!ca.certPem.includes("PRIVATE KEY"));
}

Deno.test("generateCa: ECDSA P-256", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  await checkCa(ca, "ECDSA", "EC PRIVATE KEY");
  assert.equal((ca.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
});

Deno.test("generateCa: RSA 2048 by default, PKCS#1 key as kubeadm", async () => {
  const ca = await generateCa();
  await checkCa(ca, "RSASSA-PKCS1-v1_5", "RSA PRIVATE KEY");
  assert.equal((ca.keys.privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 2048);
});

Deno.test("generateCa: RSA 4096 (slow)", async () => {
  const ca = await generateCa({ keyType: "rsa-4096", keyFormat: "pkcs8" });
  await checkCa(ca, "RSASSA-PKCS1-v1_5", "PRIVATE KEY");
  assert.equal((ca.keys.privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 4096);
});

Deno.test("generateCa: name and validity are configurable", async () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const ca = await generateCa({
    commonName: "front-proxy-ca",
    keyType: "ecdsa-p256",
    validityDays: 30,
    now,
  });
  assert.equal(ca.cert.subject, "CN=front-proxy-ca");
  assert.equal(ca.cert.notAfter.getTime(), now.getTime() + 30 * DAY);
  assert.equal(ca.cert.notBefore.getTime(), now.getTime() - 5 * 60 * 1000);
});

Deno.test({
  name: "generateCa: openssl accepts the CA",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    const ca = await generateCa({ keyType: "ecdsa-p256" });
    await dir.write("ca.crt", ca.certPem);
    const out = await dir.run("verify", "-x509_strict", "-CAfile", "ca.crt", "ca.crt");
    assert.match(out, /ca\.crt: OK/);
    const text = await dir.run("x509", "-in", "ca.crt", "-noout", "-text");
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(
      text,
      /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/,
    );
  },
});

Deno.test("loadCa: loads a matching pair, refuses a mismatching key or a leaf", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const loaded = await loadCa(ca.certPem, ca.keyPem, "pki/ca");
  assert.equal(isCa(loaded.cert), true);
  const other = await generateCa({ keyType: "ecdsa-p256" });
  await assert.rejects(
    loadCa(ca.certPem, other.keyPem, "pki/ca"),
    /Private key of pki\/ca does not match certificate "CN=kubernetes"/,
  );
  const leaf = await issueCertificate({ ca, commonName: "leaf" });
  await assert.rejects(
    loadCa(leaf.certPem, leaf.keyPem!, "pki/apiserver"),
    /Cannot load pki\/apiserver: certificate "CN=leaf" is not a CA/,
  );
  const keys = await generateKeyPair("ecdsa-p256");
  assert.equal(await keyMatchesCertificate(keys.privateKey, loaded.cert), false);
});
