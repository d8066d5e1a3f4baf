/**
 * SHA-256 fingerprints of certificates, as lowercase hex without separators.
 * @module
 */
import { x509 } from "./crypto_provider.ts";

/** The SHA-256 fingerprint of a certificate's DER encoding: 64 lowercase hex digits. */
export async function fingerprint(
  cert: x509.X509Certificate | Uint8Array<ArrayBuffer>,
): Promise<string> {
  const der = cert instanceof Uint8Array ? cert : new Uint8Array(cert.rawData);
  const digest = await crypto.subtle.digest("SHA-256", der);
  return toHex(new Uint8Array(digest));
}

/** Bytes as lowercase hex without separators. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
}
