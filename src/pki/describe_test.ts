import assert from "node:assert/strict";
import { describeCertificate, formatCertificateDescription } from "./describe.ts";
import { generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { fingerprint } from "./fingerprint.ts";
import { containsPrivateKey } from "./pem.ts";

const ca = await generateCa({ keyType: "ecdsa-p256" });
const leaf = await issueCertificate({
  ca,
  commonName: "kube-apiserver",
  extKeyUsages: ["serverAuth"],
  dnsNames: ["kubernetes.default"],
  ipAddresses: ["10.96.0.1"],
  uris: ["spiffe://cluster.local/apiserver"],
  emails: ["ops@example.com"],
});

Deno.test("describeCertificate: the facts an operator needs", async () => {
  const d = await describeCertificate(leaf.cert);
  assert.equal(d.subject, "CN=kube-apiserver");
  assert.equal(d.issuer, "CN=kubernetes");
  assert.equal(d.serialNumber, leaf.cert.serialNumber);
  assert.equal(d.notBefore, leaf.cert.notBefore.toISOString());
  assert.equal(d.notAfter, leaf.cert.notAfter.toISOString());
  assert.equal(d.isCa, false);
  assert.equal(d.publicKey, "ecdsa-p256");
  assert.deepEqual(d.keyUsages, ["digitalSignature", "keyEncipherment"]);
  assert.deepEqual(d.extKeyUsages, ["serverAuth"]);
  assert.deepEqual(d.dnsNames, ["kubernetes.default"]);
  assert.deepEqual(d.ipAddresses, ["10.96.0.1"]);
  assert.deepEqual(d.uris, ["spiffe://cluster.local/apiserver"]);
  assert.deepEqual(d.emails, ["ops@example.com"]);
  assert.equal(d.fingerprint, await fingerprint(leaf.cert));
  assert.equal(d.authorityKeyId, (await describeCertificate(ca.cert)).subjectKeyId);

  const caD = await describeCertificate(ca.cert);
  assert.equal(caD.isCa, true);
  assert.deepEqual(caD.keyUsages, ["digitalSignature", "keyCertSign", "cRLSign"]);
});

Deno.test("formatCertificateDescription: readable, no key material", async () => {
  const text = formatCertificateDescription(await describeCertificate(leaf.cert));
  assert.match(text, /subject: CN=kube-apiserver/);
  assert.match(
    text,
    /SANs: DNS:kubernetes\.default, IP:10\.96\.0\.1, URI:spiffe:\/\/cluster\.local\/apiserver, email:ops@example\.com/,
  );
  assert.match(text, /sha256: [0-9a-f]{64}/);
  assert.equal(containsPrivateKey(text), false);
  assert.ok(!text.includes("BEGIN"));
  const keyBody = leaf.keyPem!.split("\n")[1];
  assert.ok(!text.includes(keyBody.slice(0, 16)));
});
