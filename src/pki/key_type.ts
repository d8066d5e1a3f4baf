/**
 * Key types the rotator issues and accepts (RSA and ECDSA, as kubeadm uses), key pair
 * generation, and the Web Crypto parameters that go with each.
 * @module
 */
import "./crypto_provider.ts";

/** A key type to generate: ECDSA on a NIST curve, or RSA of a modulus size. */
export type KeyType = "ecdsa-p256" | "ecdsa-p384" | "rsa-2048" | "rsa-3072" | "rsa-4096";

/** The key types {@link generateKeyPair} accepts. */
export const KEY_TYPES: readonly KeyType[] = [
  "ecdsa-p256",
  "ecdsa-p384",
  "rsa-2048",
  "rsa-3072",
  "rsa-4096",
];

/** EC curves supported for import and signing. */
export type NamedCurve = "P-256" | "P-384";

const RSA = "RSASSA-PKCS1-v1_5";

/** Generates an extractable signing key pair of the given type. */
export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  const usages: KeyUsage[] = ["sign", "verify"];
  switch (type) {
    case "ecdsa-p256":
      return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, usages);
    case "ecdsa-p384":
      return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, usages);
    case "rsa-2048":
    case "rsa-3072":
    case "rsa-4096":
      return await crypto.subtle.generateKey(
        {
          name: RSA,
          modulusLength: Number(type.slice(4)),
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        },
        true,
        usages,
      );
    default:
      throw new Error(`Unknown key type "${type}": expected one of ${KEY_TYPES.join(", ")}`);
  }
}

/** Web Crypto import parameters for RSA keys (PKCS#1 v1.5 signatures with SHA-256). */
export function rsaImportParams(): RsaHashedImportParams {
  return { name: RSA, hash: "SHA-256" };
}

/** Web Crypto import parameters for ECDSA keys on `curve`. */
export function ecImportParams(curve: NamedCurve): EcKeyImportParams {
  return { name: "ECDSA", namedCurve: curve };
}

/**
 * The signature algorithm for certificates and CSRs signed by `key`: SHA-256 with RSA, and
 * ECDSA with the hash matching the curve (SHA-256 for P-256, SHA-384 for P-384), as Go's
 * crypto/x509 (hence kubeadm) chooses.
 */
export function signingAlgorithm(key: CryptoKey): Algorithm | EcdsaParams {
  const alg = key.algorithm as Partial<EcKeyAlgorithm & RsaHashedKeyAlgorithm>;
  if (alg.name === RSA) return { name: RSA, hash: "SHA-256" } as Algorithm;
  if (alg.name === "ECDSA") {
    return { name: "ECDSA", hash: alg.namedCurve === "P-384" ? "SHA-384" : "SHA-256" };
  }
  throw new Error(`Unsupported signing key algorithm "${alg.name}": expected RSA or ECDSA`);
}

/** A short human name for a key's type, e.g. `rsa-2048` or `ecdsa-p256`. */
export function describeKey(key: CryptoKey): string {
  const alg = key.algorithm as Partial<EcKeyAlgorithm & RsaHashedKeyAlgorithm>;
  if (alg.name === RSA) return `rsa-${alg.modulusLength}`;
  if (alg.name === "ECDSA") return `ecdsa-${String(alg.namedCurve).replace("-", "").toLowerCase()}`;
  return String(alg.name);
}
