/**
 * Certificate bundles: the `CERTIFICATE` blocks of a PEM text in, an ordered de-duplicated
 * PEM text out.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { decodePem, encodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";

/**
 * Parses every `CERTIFICATE` block of `text`, in order. Other blocks (keys, parameters) and
 * text around blocks are ignored.
 * @param source names the text in error messages, e.g. a file path.
 * @throws {Error} when the text holds no certificate or a block is not a valid certificate.
 */
export function parseCertificates(text: string, source = "PEM text"): x509.X509Certificate[] {
  const blocks = decodePem(text, source).filter((b) => b.label === "CERTIFICATE");
  if (blocks.length === 0) {
    throw new Error(`Cannot parse ${source}: no CERTIFICATE block found`);
  }
  return blocks.map((block, i) => {
    try {
      return new x509.X509Certificate(block.der);
    } catch (err) {
      throw new Error(
        `Cannot parse ${source}: certificate ${i + 1} of ${blocks.length} is not a valid ` +
          `X.509 certificate (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  });
}

/**
 * Parses the first certificate of `text` (a leaf file such as `apiserver.crt` may carry its
 * chain after it).
 * @throws {Error} as {@link parseCertificates}.
 */
export function parseCertificate(text: string, source = "PEM text"): x509.X509Certificate {
  return parseCertificates(text, source)[0];
}

/** Encodes one certificate as a PEM block. */
export function certificateToPem(cert: x509.X509Certificate): string {
  return encodePem("CERTIFICATE", cert.rawData);
}

/**
 * Encodes certificates as one PEM bundle, keeping the first occurrence of each and dropping
 * later duplicates (same DER, hence same fingerprint). Returns "" for an empty list.
 */
export function encodeBundle(certs: Iterable<x509.X509Certificate>): string {
  return dedupeCertificates(certs).map(certificateToPem).join("");
}

/** The certificates in order, without repeats of the same DER (same fingerprint). */
export function dedupeCertificates(
  certs: Iterable<x509.X509Certificate>,
): x509.X509Certificate[] {
  const seen = new Set<string>();
  const out: x509.X509Certificate[] = [];
  for (const cert of certs) {
    const key = toHex(cert.rawData);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(cert);
  }
  return out;
}
