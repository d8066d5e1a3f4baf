/**
 * Key identifiers that link a certificate to its issuer.
 * @module
 */
import { x509 } from "./crypto_provider.ts";

/**
 * The authorityKeyIdentifier extension for certificates signed by `ca`: the CA's
 * subjectKeyIdentifier, or the SHA-1 of its public key when it has none (RFC 5280 method 1).
 */
export async function authorityKeyIdentifierFor(
  ca: x509.X509Certificate,
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey);
}

/** The key identifier in a certificate's authorityKeyIdentifier, as hex, if it has one. */
export function authorityKeyId(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
}

/** The key identifier in a certificate's subjectKeyIdentifier, as hex, if it has one. */
export function subjectKeyId(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
}
