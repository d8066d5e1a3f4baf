/**
 * Does a private key belong to a certificate? Compared through the public key (JWK of the
 * key's public half against the certificate's), or, for keys that cannot be exported, by
 * signing a challenge with the private key and verifying it with the certificate's key.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { publicKeyOf } from "./private_key.ts";
import { signingAlgorithm } from "./key_type.ts";
import { standInPublicKey } from "./key_stand_in.ts";

/** Says whether `privateKey` is the private half of `cert`'s public key. */
export async function keyMatchesCertificate(
  privateKey: CryptoKey,
  cert: x509.X509Certificate,
): Promise<boolean> {
  const keyAlg = privateKey.algorithm as Partial<EcKeyAlgorithm & RsaHashedKeyAlgorithm>;
  const certAlg = cert.publicKey.algorithm as Partial<EcKeyAlgorithm>;
  const keyFamily = keyAlg.name === "ECDSA" ? "EC" : "RSA";
  const certFamily = certAlg.name === "ECDSA" ? "EC" : certAlg.name?.startsWith("RSA") ? "RSA" : "";
  if (keyFamily !== certFamily) return false;
  if (keyFamily === "EC" && keyAlg.namedCurve !== certAlg.namedCurve) return false;
  const importParams = keyFamily === "EC"
    ? { name: "ECDSA", namedCurve: certAlg.namedCurve }
    : { name: keyAlg.name!, hash: keyAlg.hash! };
  let certKey: CryptoKey;
  try {
    certKey = await cert.publicKey.export(importParams, ["verify"]);
  } catch {
    return false;
  }
  // A stand-in (key_stand_in.ts) matches through the real key's public half it carries.
  const realPublic = standInPublicKey(privateKey);
  if (realPublic || privateKey.extractable) {
    const [a, b] = await Promise.all([
      crypto.subtle.exportKey("jwk", realPublic ?? await publicKeyOf(privateKey)),
      crypto.subtle.exportKey("jwk", certKey),
    ]);
    return keyFamily === "EC" ? a.x === b.x && a.y === b.y : a.n === b.n && a.e === b.e;
  }
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const alg = signingAlgorithm(privateKey);
  const signature = await crypto.subtle.sign(alg, privateKey, challenge);
  return await crypto.subtle.verify(alg, certKey, signature, challenge);
}

/**
 * Refuses a private key that does not belong to `cert`.
 * @param what names the pair in the message, e.g. `"/etc/kubernetes/pki/ca.key"`.
 * @throws {Error} `Private key <what> does not match certificate "<subject>" (serial …)`.
 */
export async function assertKeyMatchesCertificate(
  privateKey: CryptoKey,
  cert: x509.X509Certificate,
  what = "",
): Promise<void> {
  if (await keyMatchesCertificate(privateKey, cert)) return;
  const name = what ? `${what} ` : "";
  throw new Error(
    `Private key ${name}does not match certificate "${cert.subject}" ` +
      `(serial ${cert.serialNumber}): refusing to use it`,
  );
}
