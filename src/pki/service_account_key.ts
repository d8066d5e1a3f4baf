/**
 * Service-account signing keys: the key pair kube-apiserver signs tokens with
 * (`--service-account-signing-key-file`) and the public keys it verifies them with
 * (`--service-account-key-file`, several PEM `PUBLIC KEY` blocks in one file). A token's `kid`
 * is the key id the API server derives from its public key (k8s.io/kubernetes
 * pkg/serviceaccount/jwt.go, keyIDFromPublicKey): base64url, unpadded, of the SHA-256 of the
 * public key's PKIX (SubjectPublicKeyInfo) DER. `/openid/v1/jwks` lists the keys by that id.
 * Nothing here returns or logs a token or a private key in an error.
 * @module
 */
import { decodePem, encodePem } from "./pem.ts";
import { encodePrivateKey, kubeadmKeyFormat, parsePrivateKey } from "./private_key.ts";
import { describeKey, generateKeyPair } from "./key_type.ts";
import { CA_CURVES, MAX_RSA_BITS, MIN_RSA_BITS } from "./given_ca.ts";

/** The key types ca-rotator generates for service-account signing. */
export const SERVICE_ACCOUNT_KEY_TYPES = ["rsa-2048", "ecdsa-p256"] as const;

/** A generated or given service-account key type. */
export type ServiceAccountKeyType = typeof SERVICE_ACCOUNT_KEY_TYPES[number];

/** A signing key pair as PEM, with its key id. The private key is never logged or rendered. */
export interface ServiceAccountKeyPair {
  /** The private key, in kubeadm's format (PKCS#1 for RSA, SEC1 for ECDSA) when generated. */
  readonly keyPem: string;
  /** The public key as one PKIX `PUBLIC KEY` block, as kubeadm writes `sa.pub`. */
  readonly publicPem: string;
  /** The `kid` of the tokens it signs. */
  readonly keyId: string;
}

function base64Url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key id of a public key given as its PKIX DER. */
export async function keyIdOfPublicKeyDer(der: Uint8Array | ArrayBuffer): Promise<string> {
  return base64Url(await crypto.subtle.digest("SHA-256", der as BufferSource));
}

/**
 * The key ids of every `PUBLIC KEY` block in `pem`, in order.
 * @throws {Error} naming `source` when it holds no public key, or a block of another kind.
 */
export async function publicKeyIds(pem: string, source = "public keys"): Promise<string[]> {
  const blocks = decodePem(pem, source);
  const other = blocks.find((block) => block.label !== "PUBLIC KEY");
  if (other) {
    throw new Error(
      `Cannot read public keys ${source}: a "${other.label}" block; expected PUBLIC KEY blocks only`,
    );
  }
  if (blocks.length === 0) throw new Error(`Cannot read public keys ${source}: none found`);
  return await Promise.all(blocks.map((block) => keyIdOfPublicKeyDer(block.der)));
}

/**
 * Old and new public keys in one file, each once (by key id), the old ones first: what the API
 * servers verify with while both keys sign.
 */
export async function publicKeyBundle(pems: readonly string[], source = "public keys"): Promise<
  string
> {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of pems) {
    for (const block of decodePem(pem, source)) {
      if (block.label !== "PUBLIC KEY") continue;
      const id = await keyIdOfPublicKeyDer(block.der);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(encodePem("PUBLIC KEY", block.der));
    }
  }
  return out.join("");
}

/**
 * The pair of a private key: checked as a signing key (RSA of 2048–8192 bits, or ECDSA on P-256
 * or P-384: what the API server's token signer accepts and kubeadm generates), its public half
 * derived.
 * @throws {Error} naming `source` and why (never the key).
 */
export async function serviceAccountKeyPair(
  keyPem: string,
  source = "service-account key",
): Promise<ServiceAccountKeyPair> {
  const { privateKey, publicKey } = await parsePrivateKey(keyPem, source);
  const algorithm = privateKey.algorithm as Partial<RsaHashedKeyAlgorithm & EcKeyAlgorithm>;
  const rsaBits = algorithm.modulusLength;
  const usable = rsaBits !== undefined
    ? rsaBits >= MIN_RSA_BITS && rsaBits <= MAX_RSA_BITS
    : algorithm.name === "ECDSA" && CA_CURVES.includes(String(algorithm.namedCurve));
  if (!usable) {
    throw new Error(
      `Cannot use ${source} as a service-account signing key: it is ${describeKey(privateKey)}; ` +
        `expected RSA (${MIN_RSA_BITS}–${MAX_RSA_BITS} bits) or ECDSA (${CA_CURVES.join(", ")})`,
    );
  }
  const der = await crypto.subtle.exportKey("spki", publicKey);
  return { keyPem, publicPem: encodePem("PUBLIC KEY", der), keyId: await keyIdOfPublicKeyDer(der) };
}

/** A new signing key pair of `type`, the private key in kubeadm's format. */
export async function generateServiceAccountKey(
  type: ServiceAccountKeyType,
): Promise<ServiceAccountKeyPair> {
  const { privateKey } = await generateKeyPair(type);
  const keyPem = await encodePrivateKey(privateKey, kubeadmKeyFormat(privateKey));
  return await serviceAccountKeyPair(keyPem, `generated ${type} key`);
}

/**
 * The `kid` in a JWT's header, or undefined when it is not a JWT with one. Reads the header
 * only; the token itself is never kept or shown.
 */
export function jwtKeyId(token: string): string | undefined {
  const header = token.split(".")[0];
  if (!header) return undefined;
  try {
    const json = JSON.parse(atob(header.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json?.kid === "string" ? json.kid : undefined;
  } catch {
    return undefined;
  }
}
