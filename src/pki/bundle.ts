/**
 * Certificate bundles: the `CERTIFICATE` blocks of a PEM text in, an ordered de-duplicated
 * PEM text out.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { decodePem, encodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { readCertificateFields } from "./certificate_fields.ts";

/**
 * Parses every `CERTIFICATE` block of `text`, in order. Other blocks (keys, parameters) and
 * text around blocks are ignored.
 * @param source names the text in error messages, e.g. a file path.
 * @throws {Error} when the text holds no certificate or a block is not a valid certificate.
 */
export function parseCertificates(text: string, source = "PEM text"): x509.X509Certificate[] {
  const blocks = certificateBlocks(text, source);
  return blocks.map((block, i) => parsedBlock(block.der, i, blocks.length, source));
}

/**
 * The DER of every `CERTIFICATE` block of `text`, in order, each checked to be a certificate as
 * {@link parseCertificates} checks it, without building its object model (the DER reader; the
 * full parser only for an encoding the reader does not take).
 * @throws {Error} as {@link parseCertificates}.
 */
export function certificateDers(text: string, source = "PEM text"): Uint8Array<ArrayBuffer>[] {
  const blocks = certificateBlocks(text, source);
  return blocks.map((block, i) => {
    try {
      readCertificateFields(block.der);
    } catch {
      parsedBlock(block.der, i, blocks.length, source);
    }
    return block.der;
  });
}

function certificateBlocks(text: string, source: string) {
  const blocks = decodePem(text, source).filter((b) => b.label === "CERTIFICATE");
  if (blocks.length === 0) {
    throw new Error(`Cannot parse ${source}: no CERTIFICATE block found`);
  }
  return blocks;
}

function parsedBlock(
  der: Uint8Array<ArrayBuffer>,
  index: number,
  count: number,
  source: string,
): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (err) {
    throw new Error(
      `Cannot parse ${source}: certificate ${index + 1} of ${count} is not a valid ` +
        `X.509 certificate (${err instanceof Error ? err.message : String(err)})`,
    );
  }
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
