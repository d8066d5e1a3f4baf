import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { generateCa } from "./ca.ts";
import { verifyChain } from "./verify_chain.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { createNodeClientCsr, parseCsr } from "./csr.ts";
import { subjectAltNames } from "./subject_alt_names.ts";
import { decodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

const ca = await generateCa({ keyType: "ecdsa-p256" });

Deno.test("issueCertificate: a kubeconfig client certificate", async () => {
  const issued = await issueCertificate({
    ca,
    commonName: "kubernetes-admin",
    organizations: ["system:masters", "kubeadm:cluster-admins"],
  });
  const { cert } = issued;
  assert.equal(cert.subject, "O=system:masters+O=kubeadm:cluster-admins, CN=kubernetes-admin");
  assert.deepEqual(cert.subjectName.getField("O"), ["system:masters", "kubeadm:cluster-admins"]);
  assert.deepEqual(cert.subjectName.getField("CN"), ["kubernetes-admin"]);
  assert.equal(cert.issuer, ca.cert.subject);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  assert.deepEqual([...(eku?.usages ?? [])].map(String), [x509.ExtendedKeyUsage.clientAuth]);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.equal(
    ku?.usages,
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
  );
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.ok((await verifyChain(cert, { roots: [ca.cert] })).ok);

  assert.ok(issued.keyPem && issued.keys);
  assert.equal(decodePem(issued.keyPem)[0].label, "EC PRIVATE KEY", "key type follows the CA");
  const key = await parsePrivateKey(issued.keyPem);
  assert.equal(await keyMatchesCertificate(key.privateKey, cert), true);
});

Deno.test("issueCertificate: signs a CSR's public key, no key returned", async () => {
  const { csrPem } = await createNodeClientCsr("worker-1");
  const csr = await parseCsr(csrPem);
  const issued = await issueCertificate({
    ca,
    commonName: csr.commonName,
    organizations: csr.organizations,
    publicKey: csr.publicKey,
  });
  assert.equal(issued.keyPem, undefined);
  assert.equal(toHex(issued.cert.publicKey.rawData), toHex(csr.publicKey.rawData));
  assert.equal(issued.cert.subject, "O=system:nodes, CN=system:node:worker-1");
});

Deno.test("issueCertificate: serving usages, SANs and RSA keys on request", async () => {
  const { cert, keyPem } = await issueCertificate({
    ca,
    commonName: "kube-apiserver",
    extKeyUsages: ["serverAuth"],
    keyUsages: ["digitalSignature"],
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
    keyType: "rsa-2048",
    keyFormat: "pkcs8",
  });
  const sans = subjectAltNames(cert);
  assert.deepEqual(sans.dnsNames, ["localhost"]);
  assert.equal(sans.ipAddresses.length, 2);
  assert.equal(sans.ipAddresses[0], "127.0.0.1");
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, 1);
  assert.equal(decodePem(keyPem!)[0].label, "PRIVATE KEY");
  assert.equal(cert.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
});

Deno.test("issueCertificate: never outlives the CA; rejects unknown usages", async () => {
  const short = await generateCa({ keyType: "ecdsa-p256", validityDays: 3 });
  const { cert } = await issueCertificate({ ca: short, commonName: "x", validityDays: 365 });
  assert.equal(cert.notAfter.getTime(), short.cert.notAfter.getTime());
  await assert.rejects(
    issueCertificate({ ca, commonName: "x", extKeyUsages: ["fooAuth"] }),
    /Unknown extended key usage "fooAuth"/,
  );
  await assert.rejects(issueCertificate({ ca, commonName: "" }), /commonName is empty/);
});

Deno.test({
  name: "issueCertificate: openssl accepts it as an SSL client certificate",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    const { certPem } = await issueCertificate({
      ca,
      commonName: "system:kube-scheduler",
    });
    await dir.write("ca.crt", ca.certPem);
    await dir.write("client.crt", certPem);
    const out = await dir.run(
      "verify",
      "-x509_strict",
      "-purpose",
      "sslclient",
      "-CAfile",
      "ca.crt",
      "client.crt",
    );
    assert.match(out, /client\.crt: OK/);
    const server = await dir.tryRun(
      "verify",
      "-purpose",
      "sslserver",
      "-CAfile",
      "ca.crt",
      "client.crt",
    );
    assert.equal(server.success, false, "a client certificate is not a server certificate");
  },
});
