import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { issuedBy, verifyChain } from "./verify_chain.ts";
import { type CertificateAuthority, generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { signingAlgorithm } from "./key_type.ts";
import { authorityKeyIdentifierFor } from "./key_identifier.ts";

const DAY = 24 * 60 * 60 * 1000;
const root = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });
const twin = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });

/** An intermediate CA signed by `parent` (or a non-CA "intermediate" if `ca` is false). */
async function intermediate(
  parent: CertificateAuthority,
  name: string,
  ca = true,
): Promise<CertificateAuthority> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [name] }],
    issuer: parent.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: parent.privateKey,
    signingAlgorithm: signingAlgorithm(parent.privateKey),
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 100 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifierFor(parent.cert),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

Deno.test("verifyChain: a leaf chains to its root, and the root is named", async () => {
  const { cert } = await issueCertificate({ ca: root, commonName: "leaf" });
  const result = await verifyChain(cert, { roots: [twin.cert, root.cert] });
  assert.ok(result.ok);
  assert.equal(result.root, root.cert);
  assert.deepEqual(result.chain, [cert, root.cert]);
});

Deno.test("verifyChain: a same-named root with another key is not trusted", async () => {
  const { cert } = await issueCertificate({ ca: root, commonName: "leaf" });
  const result = await verifyChain(cert, { roots: [twin.cert] });
  assert.equal(result.ok, false);
  assert.ok(!result.ok && /not signed by any of the 1 trusted root/.test(result.reason));
  assert.equal(await issuedBy(cert, twin.cert), false);
  assert.equal(await issuedBy(cert, root.cert), true);
});

Deno.test("verifyChain: through intermediates, not through a non-CA", async () => {
  const mid = await intermediate(root, "mid-ca");
  const { cert } = await issueCertificate({ ca: mid, commonName: "leaf" });
  assert.equal((await verifyChain(cert, { roots: [root.cert] })).ok, false);
  const result = await verifyChain(cert, { roots: [root.cert], intermediates: [mid.cert] });
  assert.ok(result.ok);
  assert.deepEqual(result.chain, [cert, mid.cert, root.cert]);

  const notCa = await intermediate(root, "not-a-ca", false);
  const { cert: below } = await issueCertificate({ ca: notCa, commonName: "leaf2" });
  const refused = await verifyChain(below, { roots: [root.cert], intermediates: [notCa.cert] });
  assert.equal(refused.ok, false);
});

Deno.test("verifyChain: dates are checked for the leaf and the root", async () => {
  const { cert } = await issueCertificate({ ca: root, commonName: "leaf", validityDays: 10 });
  const later = new Date(Date.now() + 20 * DAY);
  const expired = await verifyChain(cert, { roots: [root.cert], at: later });
  assert.ok(!expired.ok && /certificate "CN=leaf" expired at/.test(expired.reason));
  const earlier = new Date(Date.now() - DAY);
  const early = await verifyChain(cert, { roots: [root.cert], at: earlier });
  assert.ok(!early.ok && /is not valid before/.test(early.reason));

  const shortRoot = await generateCa({ keyType: "ecdsa-p256", validityDays: 5 });
  const { cert: leaf } = await issueCertificate({
    ca: shortRoot,
    commonName: "leaf",
    notAfter: new Date(Date.now() + 2 * DAY),
  });
  const at = new Date(Date.now() + DAY);
  assert.ok((await verifyChain(leaf, { roots: [shortRoot.cert], at })).ok);
  const { cert: leaf2 } = await issueCertificate({ ca: shortRoot, commonName: "leaf" });
  // leaf2 is capped at the root's NotAfter; past it, both are expired.
  const past = await verifyChain(leaf2, {
    roots: [shortRoot.cert],
    at: new Date(Date.now() + 6 * DAY),
  });
  assert.equal(past.ok, false);
});

Deno.test("verifyChain: a trusted root verifies as itself", async () => {
  const result = await verifyChain(root.cert, { roots: [root.cert] });
  assert.ok(result.ok && result.root === root.cert);
  assert.equal((await verifyChain(root.cert, { roots: [twin.cert] })).ok, false);
});
