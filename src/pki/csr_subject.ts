/**
 * The subject of a PKCS#10 certificate request read straight from its DER, without building
 * `@peculiar/x509`'s object model: the verifier reads the CN of every TLS-bootstrap kubelet CSR.
 * @module
 */
import { DER_TAG, DerError, encoding, expectElement } from "./der_reader.ts";
import { type DistinguishedName, readDistinguishedName } from "./distinguished_name.ts";

/**
 * The subject of the DER certificate request `der` (CertificationRequest).
 * @throws {Error} `Cannot read <source>: …` when `der` is not a certificate request.
 */
export function readCsrSubject(der: Uint8Array, source = "certificate request"): DistinguishedName {
  try {
    const request = expectElement(der, 0, der.length, DER_TAG.SEQUENCE, "CertificationRequest");
    const info = expectElement(
      der,
      request.contentStart,
      request.end,
      DER_TAG.SEQUENCE,
      "certificationRequestInfo",
    );
    const version = expectElement(der, info.contentStart, info.end, DER_TAG.INTEGER, "version");
    const subject = expectElement(der, version.end, info.end, DER_TAG.SEQUENCE, "subject");
    return readDistinguishedName(encoding(der, subject), "subject");
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new Error(`Cannot read ${source}: not a DER certificate request: ${error.message}`);
  }
}
