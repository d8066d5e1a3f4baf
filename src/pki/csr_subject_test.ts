import assert from "node:assert/strict";
import { readCsrSubject } from "./csr_subject.ts";
import { createNodeClientCsr } from "./csr.ts";
import { decodePem } from "./pem.ts";
import { x509 } from "./crypto_provider.ts";

Deno.test("readCsrSubject reads a kubelet CSR's subject as @peculiar/x509 does", async () => {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const { csrPem } = await createNodeClientCsr("worker-7", keys);
  const der = decodePem(csrPem)[0].der;
  const subject = readCsrSubject(der);
  const reference = new x509.Pkcs10CertificateRequest(der).subjectName;
  assert.equal(subject.text, reference.toString());
  assert.deepEqual(subject.field("CN"), ["system:node:worker-7"]);
  assert.deepEqual(subject.field("O"), reference.getField("O"));
  assert.throws(
    () => readCsrSubject(der.subarray(0, 40), "csr-1"),
    /^Error: Cannot read csr-1: not a DER certificate request: CertificationRequest: .* run past/,
  );
});
