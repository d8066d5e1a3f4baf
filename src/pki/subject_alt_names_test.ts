import assert from "node:assert/strict";
import { x509 } from "./crypto_provider.ts";
import { subjectAltNameExtension, subjectAltNames } from "./subject_alt_names.ts";
import { generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { createCsr, parseCsr } from "./csr.ts";

const names = {
  dnsNames: ["a.example", "b.example"],
  ipAddresses: ["10.0.0.1"],
  uris: ["spiffe://x/y"],
  emails: ["a@example.com"],
};

Deno.test("subjectAltNames: read back what was written, certificate and CSR", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const { cert } = await issueCertificate({ ca, commonName: "x", ...names });
  assert.deepEqual(subjectAltNames(cert), names);
  const { csrPem } = await createCsr({ commonName: "x", ...names });
  const csr = await parseCsr(csrPem);
  assert.deepEqual(subjectAltNames(csr.csr), names);
});

Deno.test("subjectAltNames: empty without the extension", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  assert.deepEqual(subjectAltNames(ca.cert), {
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    emails: [],
  });
  assert.equal(subjectAltNameExtension({}), undefined);
  assert.ok(subjectAltNameExtension({ dnsNames: ["x"] }) instanceof x509.Extension);
});
