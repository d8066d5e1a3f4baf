/**
 * The CA public-key hashes `kubeadm join --discovery-token-ca-cert-hash` pins: `sha256:` and the
 * lowercase hex SHA-256 of the certificate's DER SubjectPublicKeyInfo, as
 * `cmd/kubeadm/app/util/pubkeypin` computes them (and `kubeadm token create
 * --print-join-command` prints them).
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { toHex } from "./fingerprint.ts";
import { parseCertificates } from "./bundle.ts";

/** The discovery hash of a CA certificate: `sha256:<64 hex digits>` of its SPKI. */
export async function discoveryHash(cert: x509.X509Certificate): Promise<string> {
  const spki = new Uint8Array(cert.publicKey.rawData);
  return `sha256:${toHex(await crypto.subtle.digest("SHA-256", spki))}`;
}

/** The discovery hash of every certificate of a PEM bundle, in its order. */
export async function discoveryHashes(pem: string, source?: string): Promise<string[]> {
  const hashes: string[] = [];
  for (const cert of parseCertificates(pem, source)) hashes.push(await discoveryHash(cert));
  return hashes;
}
