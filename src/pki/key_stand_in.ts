/**
 * Stand-ins for private keys: what a read-only dry run reads where a node file held a private
 * key that the node inventory left out (src/pki/strip_private_keys.ts). A stand-in is a PEM
 * block (`CA ROTATOR KEY STAND IN`) holding only public facts of the key it replaces: the SHA-256
 * of the key's DER, its type and PEM format, and its public key (SPKI).
 *
 * Reading one ({@link readStandIn}, through `parsePrivateKey`) gives a key pair whose public half
 * is the real key's, so a key still matches its certificate and a leaf re-issued "with its
 * existing key" carries the real public key; its private half is a signing key made up in this
 * process (one per stand-in), of the same type. What it signs does not verify against the real
 * certificate — which a dry run can live with: it writes nothing, its diff masks key material,
 * and a re-issued certificate is a changed file whichever key signed it.
 * @module
 */
import { encodePem } from "./pem.ts";
import { ecImportParams, generateKeyPair, type KeyType, rsaImportParams } from "./key_type.ts";

/** The PEM label of a stand-in (no private key label: masking and key scans ignore it). */
export const STAND_IN_LABEL = "CA ROTATOR KEY STAND IN";

/** The public facts a stand-in holds. */
export interface StandInFacts {
  /** SHA-256 (hex) of the replaced key's DER (or, when it could not be decoded, its text). */
  readonly sha256: string;
  /** The key type (`rsa-2048`, `ecdsa-p256` …), or `unreadable` (encrypted, OpenSSH, …). */
  readonly type: string;
  /** The PEM encoding of the replaced key: `pkcs8`, `pkcs1` or `sec1`. */
  readonly format?: "pkcs8" | "pkcs1" | "sec1";
  /** The public key, SPKI DER in base64. */
  readonly spki?: string;
}

/** The stand-in PEM block (with a trailing newline) of a key with these facts. */
export function encodeStandIn(facts: StandInFacts): string {
  return encodePem(STAND_IN_LABEL, new TextEncoder().encode(JSON.stringify(facts)));
}

/** The facts of a stand-in block's DER. */
export function standInFacts(der: Uint8Array): StandInFacts {
  return JSON.parse(new TextDecoder().decode(der)) as StandInFacts;
}

/** Stand-in private keys (made up here) → the real key's public half. */
const realPublicKeys = new WeakMap<CryptoKey, CryptoKey>();
/** One made-up signing key per stand-in, so the same stand-in reads as the same key. */
const signingKeys = new Map<string, Promise<CryptoKeyPair>>();

/**
 * The real public key behind a stand-in's private half; `undefined` for a real private key.
 * Key matching (src/pki/key_match.ts) compares this with the certificate's key.
 */
export function standInPublicKey(privateKey: CryptoKey): CryptoKey | undefined {
  return realPublicKeys.get(privateKey);
}

/**
 * The key pair a stand-in reads as (see the module's comment).
 * @param source names the key in error messages.
 * @throws {Error} for a stand-in of a key ca-rotator cannot read (it holds no public key).
 */
export async function readStandIn(
  der: Uint8Array,
  source: string,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; format: "pkcs8" | "pkcs1" | "sec1" }> {
  const facts = standInFacts(der);
  if (!facts.spki || !facts.format) {
    throw new Error(
      `Cannot read private key ${source}: the node inventory holds only a stand-in of a ${facts.type} ` +
        `key (sha256 ${facts.sha256}), which ca-rotator cannot use`,
    );
  }
  const type = facts.type as KeyType;
  const params = type.startsWith("ecdsa-")
    ? ecImportParams(type === "ecdsa-p384" ? "P-384" : "P-256")
    : rsaImportParams();
  const spki = Uint8Array.from(atob(facts.spki), (c) => c.charCodeAt(0));
  const publicKey = await crypto.subtle.importKey("spki", spki, params, true, ["verify"]);
  let pair = signingKeys.get(facts.sha256);
  if (!pair) {
    pair = generateKeyPair(type);
    signingKeys.set(facts.sha256, pair);
  }
  const { privateKey } = await pair;
  realPublicKeys.set(privateKey, publicKey);
  return { privateKey, publicKey, format: facts.format };
}
