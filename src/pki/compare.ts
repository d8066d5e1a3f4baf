/**
 * Comparing certificates: by their DER encoding (SHA-256 fingerprint), never by PEM text, so
 * line endings, surrounding text, order and repeats do not matter. Every check of "does this file
 * hold that CA" goes through here.
 *
 * ```ts
 * import { holdsCertificates, sameCertificates } from "./compare.ts";
 * declare const bundle: string, newCa: string;
 * await holdsCertificates(bundle, newCa); // the bundle holds the new CA (and maybe more)
 * await sameCertificates(bundle, newCa); // the bundle holds the new CA and nothing else
 * ```
 * @module
 */
import type { x509 } from "./crypto_provider.ts";
import { createHash } from "node:crypto";
import { certificateDers } from "./bundle.ts";
import { toHex } from "./fingerprint.ts";

/**
 * The sorted, distinct SHA-256 fingerprints of the certificates in a PEM text.
 * @param source names the text in error messages, e.g. a file path.
 * @throws {Error} when the text holds no certificate or a block is not a valid certificate.
 */
export async function fingerprintsOf(pem: string, source?: string): Promise<string[]> {
  const prints = certificateDers(pem, source).map((der) =>
    createHash("sha256").update(der).digest("hex")
  );
  return await Promise.resolve([...new Set(prints)].sort());
}

/** Pure: whether two lists of fingerprints name the same certificates (order and repeats aside). */
export function sameFingerprints(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((print) => right.has(print));
}

/**
 * Whether two PEM texts hold exactly the same certificates (order and repeats aside).
 * @param source names `a` in error messages, e.g. a file path.
 * @throws {Error} when either text holds no certificate or an invalid one.
 */
export async function sameCertificates(a: string, b: string, source?: string): Promise<boolean> {
  return sameFingerprints(await fingerprintsOf(a, source), await fingerprintsOf(b));
}

/**
 * Whether the PEM text `pem` holds every certificate of `wanted` (and maybe others), e.g. a
 * bundle that holds the new CA.
 * @param source names `pem` in error messages, e.g. a file path.
 * @throws {Error} when either text holds no certificate or an invalid one.
 */
export async function holdsCertificates(
  pem: string,
  wanted: string,
  source?: string,
): Promise<boolean> {
  const held = new Set(await fingerprintsOf(pem, source));
  return (await fingerprintsOf(wanted)).every((print) => held.has(print));
}

/** Pure: whether two parsed certificates are the same certificate (same DER encoding). */
export function sameCertificate(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return toHex(a.rawData) === toHex(b.rawData);
}
