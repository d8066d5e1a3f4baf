import assert from "node:assert/strict";
import * as pki from "./mod.ts";

Deno.test("mod exports the PKI API", () => {
  for (
    const name of [
      "decodePem",
      "encodePem",
      "containsPrivateKey",
      "parseCertificates",
      "encodeBundle",
      "fingerprint",
      "parsePrivateKey",
      "encodePrivateKey",
      "generateCa",
      "loadCa",
      "reissueLeaf",
      "issueCertificate",
      "verifyChain",
      "issuedBy",
      "keyMatchesCertificate",
      "assertKeyMatchesCertificate",
      "parseCsr",
      "createCsr",
      "createNodeClientCsr",
      "describeCertificate",
      "formatCertificateDescription",
    ]
  ) {
    assert.equal(typeof (pki as Record<string, unknown>)[name], "function", name);
  }
  assert.equal(typeof pki.x509.X509Certificate, "function");
});
