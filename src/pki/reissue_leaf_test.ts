import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { reissueLeaf } from "./reissue_leaf.ts";
import { type CertificateAuthority, generateCa, loadCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { verifyChain } from "./verify_chain.ts";
import { parseCertificate } from "./bundle.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { subjectAltNames } from "./subject_alt_names.ts";
import { decodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { hasOpenssl, LEAF_SANS, makeOpensslCaAndLeaf, OpensslDir } from "./_test_openssl.ts";

const DAY = 24 * 60 * 60 * 1000;

function ext<T extends x509.Extension>(
  cert: x509.X509Certificate,
  type: new (raw: BufferSource) => T,
): T {
  const found = cert.getExtension(type);
  assert.ok(found, `${type.name} present in ${cert.subject}`);
  return found;
}

/** The extendedKeyUsage OIDs of a certificate, as a plain array. */
function ekus(cert: x509.X509Certificate): string[] {
  return [...ext(cert, x509.ExtendedKeyUsageExtension).usages].map(String);
}

/** Asserts that `after` keeps what `before` says about its subject and its uses. */
function assertSameIdentity(before: x509.X509Certificate, after: x509.X509Certificate) {
  assert.equal(after.subject, before.subject);
  assert.equal(
    toHex(after.subjectName.toArrayBuffer()),
    toHex(before.subjectName.toArrayBuffer()),
    "subject DER unchanged",
  );
  assert.deepEqual(subjectAltNames(after), subjectAltNames(before));
  const kuBefore = ext(before, x509.KeyUsagesExtension);
  const kuAfter = ext(after, x509.KeyUsagesExtension);
  assert.equal(kuAfter.usages, kuBefore.usages);
  assert.equal(kuAfter.critical, kuBefore.critical);
  assert.deepEqual(ekus(after), ekus(before));
  assert.equal(ext(after, x509.BasicConstraintsExtension).ca, false);
  assert.equal(
    ext(after, x509.BasicConstraintsExtension).critical,
    ext(before, x509.BasicConstraintsExtension).critical,
  );
}

Deno.test({
  name: "reissueLeaf: an openssl/kubeadm-style leaf keeps subject, SANs and usages, " +
    "verifies against the new CA only",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    await makeOpensslCaAndLeaf(dir);
    const oldCa = await loadCa(await dir.read("ca.crt"), await dir.read("ca.key"), "old CA");
    const leaf = parseCertificate(await dir.read("leaf.crt"));
    const leafKeyPem = await dir.read("leaf.key");
    // Same CN as the old CA: only keys and signatures tell them apart.
    const newCa = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });

    // The fixture is what we think it is.
    assert.deepEqual(subjectAltNames(leaf), LEAF_SANS);
    assert.equal(leaf.subject, "O=system:masters, CN=kube-apiserver");
    assert.ok((await verifyChain(leaf, { roots: [oldCa.cert] })).ok);

    const { cert, certPem, keyPem } = await reissueLeaf({
      cert: leaf,
      keyPem: leafKeyPem,
      ca: newCa,
    });
    assert.equal(keyPem, undefined, "the key is kept, so none is returned");
    assertSameIdentity(leaf, cert);
    assert.deepEqual(subjectAltNames(cert), LEAF_SANS);
    assert.deepEqual(ekus(cert), [
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    assert.notEqual(cert.serialNumber, leaf.serialNumber);
    assert.equal(toHex(cert.publicKey.rawData), toHex(leaf.publicKey.rawData), "same key");
    assert.equal(cert.issuer, newCa.cert.subject);
    assert.equal(
      ext(cert, x509.AuthorityKeyIdentifierExtension).keyId,
      ext(newCa.cert, x509.SubjectKeyIdentifierExtension).keyId,
    );
    assert.ok(
      Math.abs(cert.notAfter.getTime() - (Date.now() + 365 * DAY)) < DAY,
      "valid one year",
    );

    const withNew = await verifyChain(cert, { roots: [newCa.cert] });
    assert.ok(withNew.ok);
    const withOld = await verifyChain(cert, { roots: [oldCa.cert] });
    assert.equal(withOld.ok, false);
    const withBundle = await verifyChain(cert, { roots: [oldCa.cert, newCa.cert] });
    assert.ok(withBundle.ok && withBundle.root === newCa.cert);

    // An independent verifier agrees.
    await dir.write("new-ca.crt", newCa.certPem);
    await dir.write("new-leaf.crt", certPem);
    assert.match(await dir.run("verify", "-CAfile", "new-ca.crt", "new-leaf.crt"), /OK/);
    const old = await dir.tryRun("verify", "-CAfile", "ca.crt", "new-leaf.crt");
    assert.equal(old.success, false, "openssl must refuse the old CA");
    // The kept key still matches the new certificate.
    const key = await parsePrivateKey(leafKeyPem);
    assert.equal(await keyMatchesCertificate(key.privateKey, cert), true);
  },
});

async function ecCaAndLeaf(): Promise<{
  oldCa: CertificateAuthority;
  newCa: CertificateAuthority;
  leaf: x509.X509Certificate;
  leafKeyPem: string;
}> {
  const oldCa = await generateCa({ keyType: "ecdsa-p256" });
  const newCa = await generateCa({ keyType: "ecdsa-p256" });
  const issued = await issueCertificate({
    ca: oldCa,
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["kubeadm:cluster-admins"],
    extKeyUsages: ["clientAuth"],
    dnsNames: ["cp-1"],
  });
  return { oldCa, newCa, leaf: issued.cert, leafKeyPem: issued.keyPem! };
}

Deno.test("reissueLeaf: EC leaf, configurable validity, new CA only", async () => {
  const { oldCa, newCa, leaf, leafKeyPem } = await ecCaAndLeaf();
  const now = new Date();
  const { cert } = await reissueLeaf({
    cert: leaf,
    keyPem: leafKeyPem,
    ca: newCa,
    validityDays: 30,
    now,
  });
  assertSameIdentity(leaf, cert);
  assert.equal(cert.notAfter.getTime(), Math.floor((now.getTime() + 30 * DAY) / 1000) * 1000);
  assert.ok((await verifyChain(cert, { roots: [newCa.cert] })).ok);
  assert.equal((await verifyChain(cert, { roots: [oldCa.cert] })).ok, false);
});

Deno.test("reissueLeaf: validity never outlives the new CA", async () => {
  const { leaf, leafKeyPem } = await ecCaAndLeaf();
  const shortCa = await generateCa({ keyType: "ecdsa-p256", validityDays: 10 });
  const { cert } = await reissueLeaf({ cert: leaf, keyPem: leafKeyPem, ca: shortCa });
  assert.equal(cert.notAfter.getTime(), shortCa.cert.notAfter.getTime());
});

Deno.test("reissueLeaf: a new key on request, in the old key's format", async () => {
  const { newCa, leaf, leafKeyPem } = await ecCaAndLeaf();
  const { cert, keyPem } = await reissueLeaf({
    cert: leaf,
    keyPem: leafKeyPem,
    ca: newCa,
    newKey: true,
  });
  assert.ok(keyPem, "a new key is returned");
  assert.equal(decodePem(keyPem)[0].label, "EC PRIVATE KEY");
  assert.notEqual(toHex(cert.publicKey.rawData), toHex(leaf.publicKey.rawData));
  const fresh = await parsePrivateKey(keyPem);
  assert.equal(await keyMatchesCertificate(fresh.privateKey, cert), true);
  const old = await parsePrivateKey(leafKeyPem);
  assert.equal(await keyMatchesCertificate(old.privateKey, cert), false);
  assertSameIdentity(leaf, cert);

  const rsa = await reissueLeaf({ cert: leaf, ca: newCa, newKey: "rsa-2048" });
  assert.equal(decodePem(rsa.keyPem!)[0].label, "RSA PRIVATE KEY");
  assert.equal(rsa.cert.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
});

Deno.test("reissueLeaf: a key that does not match the leaf is refused", async () => {
  const { newCa, leaf } = await ecCaAndLeaf();
  const stranger = await issueCertificate({ ca: newCa, commonName: "stranger" });
  await assert.rejects(
    reissueLeaf({ cert: leaf, keyPem: stranger.keyPem!, ca: newCa, source: "pki/apiserver.crt" }),
    /Private key for pki\/apiserver\.crt does not match certificate "O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client"/,
  );
});

Deno.test("reissueLeaf: without a key and without newKey it refuses", async () => {
  const { newCa, leaf } = await ecCaAndLeaf();
  await assert.rejects(
    reissueLeaf({ cert: leaf, ca: newCa, source: "pki/apiserver.crt" }),
    /Cannot re-issue pki\/apiserver\.crt: its private key is needed/,
  );
});

Deno.test("reissueLeaf: refuses to re-issue a CA", async () => {
  const { oldCa, newCa } = await ecCaAndLeaf();
  const gen = await generateCa({ keyType: "ecdsa-p256" });
  await assert.rejects(
    reissueLeaf({ cert: oldCa.cert, keyPem: gen.keyPem, ca: newCa }),
    /is a CA certificate, not a leaf/,
  );
});
