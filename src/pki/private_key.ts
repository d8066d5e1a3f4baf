/**
 * Private keys in the PEM formats found in Kubernetes PKI directories: PKCS#8
 * (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`, kubeadm's default for RSA) and SEC1
 * (`EC PRIVATE KEY`, kubeadm's format for ECDSA). Read any of them; write any of them.
 * @module
 */
import "./crypto_provider.ts";
import {
  AsnConvert,
  ECParameters,
  ECPrivateKey,
  id_ecPublicKey,
  id_rsaEncryption,
  id_secp256r1,
  id_secp384r1,
  Pkcs8PrivateKey,
  PrivateKeyInfo,
} from "./asn1.ts";
import { decodePem, encodePem, type PemBlock } from "./pem.ts";
import { ecImportParams, type NamedCurve, rsaImportParams } from "./key_type.ts";
import { readStandIn, STAND_IN_LABEL } from "./key_stand_in.ts";

/** A private key encoding: PKCS#8, PKCS#1 (RSA only) or SEC1 (EC only). */
export type PrivateKeyFormat = "pkcs8" | "pkcs1" | "sec1";

/** A private key read from PEM, with its public half and the format it was written in. */
export interface ParsedPrivateKey extends CryptoKeyPair {
  /** The encoding the key was read from, so a rewrite can keep it. */
  format: PrivateKeyFormat;
}

const LABELS: Record<string, PrivateKeyFormat> = {
  "PRIVATE KEY": "pkcs8",
  "RSA PRIVATE KEY": "pkcs1",
  "EC PRIVATE KEY": "sec1",
};

const PEM_LABEL: Record<PrivateKeyFormat, string> = {
  pkcs8: "PRIVATE KEY",
  pkcs1: "RSA PRIVATE KEY",
  sec1: "EC PRIVATE KEY",
};

const CURVE_OIDS: Record<NamedCurve, string> = { "P-256": id_secp256r1, "P-384": id_secp384r1 };

/**
 * Reads the private key in `pem` (PKCS#8, PKCS#1 or SEC1; an `EC PARAMETERS` block beside it
 * is ignored). The keys are extractable so they can be re-encoded.
 * @param source names the key in error messages, e.g. a file path. Messages never include
 *   key material.
 * @throws {Error} when there is no key, more than one, an encrypted one, or an unsupported
 *   algorithm or curve.
 */
export async function parsePrivateKey(
  pem: string,
  source = "private key",
): Promise<ParsedPrivateKey> {
  const fail = (why: string) => new Error(`Cannot read private key ${source}: ${why}`);
  const all = decodePem(pem, source);
  // A read-only dry run reads stand-ins where the node inventory left keys out (key_stand_in.ts).
  const standIn = all.find((b) => b.label === STAND_IN_LABEL);
  if (standIn) return await readStandIn(standIn.der, source);
  const blocks = all.filter((b) => b.label.endsWith("PRIVATE KEY"));
  if (blocks.length === 0) throw fail("no PRIVATE KEY block found");
  if (blocks.length > 1) throw fail(`found ${blocks.length} private key blocks, expected one`);
  const block = blocks[0];
  const format = LABELS[block.label];
  if (!format || block.headers.some((h) => /ENCRYPTED/i.test(h))) {
    if (block.label === "ENCRYPTED PRIVATE KEY" || block.headers.length > 0) {
      throw fail("encrypted private keys are not supported");
    }
    throw fail(`unsupported PEM block "${block.label}"`);
  }
  let pkcs8: Pkcs8Info;
  try {
    pkcs8 = toPkcs8(block, format);
  } catch (err) {
    throw fail(`malformed ${format.toUpperCase()} structure (${message(err)})`);
  }
  if (typeof pkcs8.params === "string") throw fail(pkcs8.params);
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", pkcs8.der, pkcs8.params, true, ["sign"]);
  } catch (err) {
    throw fail(`the key does not import (${message(err)})`);
  }
  return { privateKey, publicKey: await publicKeyOf(privateKey), format };
}

/**
 * Encodes `key` as PEM in `format`: `pkcs8` for any key, `pkcs1` for RSA, `sec1` for ECDSA
 * (with the named curve and the public key, as kubeadm and OpenSSL write it).
 * @throws {Error} when the key is not extractable or the format does not fit the algorithm.
 */
export async function encodePrivateKey(
  key: CryptoKey,
  format: PrivateKeyFormat = "pkcs8",
): Promise<string> {
  if (key.type !== "private") {
    throw new Error(`Cannot encode private key: got a ${key.type} key`);
  }
  if (!key.extractable) {
    throw new Error("Cannot encode private key: the key is not extractable");
  }
  const p8 = await crypto.subtle.exportKey("pkcs8", key);
  const alg = key.algorithm as Partial<EcKeyAlgorithm>;
  if (format === "pkcs8") return encodePem(PEM_LABEL.pkcs8, p8);
  const info = AsnConvert.parse(p8, PrivateKeyInfo);
  if (format === "pkcs1") {
    if (info.privateKeyAlgorithm.algorithm !== id_rsaEncryption) {
      throw new Error(`Cannot encode a ${alg.name} key as PKCS#1: PKCS#1 holds RSA keys only`);
    }
    return encodePem(PEM_LABEL.pkcs1, info.privateKey.buffer);
  }
  if (format === "sec1") {
    if (alg.name !== "ECDSA") {
      throw new Error(`Cannot encode a ${alg.name} key as SEC1: SEC1 holds EC keys only`);
    }
    const curveOid = CURVE_OIDS[alg.namedCurve as NamedCurve];
    if (!curveOid) throw new Error(`Cannot encode key on curve ${alg.namedCurve} as SEC1`);
    const ec = AsnConvert.parse(info.privateKey.buffer, ECPrivateKey);
    ec.parameters = new ECParameters({ namedCurve: curveOid });
    if (!ec.publicKey) {
      const jwk = await crypto.subtle.exportKey("jwk", key);
      ec.publicKey = concat([4], fromBase64Url(jwk.x!), fromBase64Url(jwk.y!)).buffer;
    }
    return encodePem(PEM_LABEL.sec1, AsnConvert.serialize(ec));
  }
  throw new Error(`Unknown private key format "${format}": expected pkcs8, pkcs1 or sec1`);
}

/**
 * The format kubeadm writes for this kind of key: PKCS#1 for RSA, SEC1 for ECDSA.
 */
export function kubeadmKeyFormat(key: CryptoKey): PrivateKeyFormat {
  return key.algorithm.name === "ECDSA" ? "sec1" : "pkcs1";
}

/** The public half of an extractable private key, usable to verify. */
export async function publicKeyOf(privateKey: CryptoKey): Promise<CryptoKey> {
  if (!privateKey.extractable) {
    throw new Error("Cannot derive the public key: the private key is not extractable");
  }
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const pub: JsonWebKey = { kty: jwk.kty, ext: true, key_ops: ["verify"] };
  if (jwk.kty === "RSA") Object.assign(pub, { n: jwk.n, e: jwk.e, alg: jwk.alg });
  else Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  const alg = privateKey.algorithm as Partial<EcKeyAlgorithm & RsaHashedKeyAlgorithm>;
  const params = alg.name === "ECDSA"
    ? ecImportParams(alg.namedCurve as NamedCurve)
    : { name: alg.name!, hash: alg.hash! };
  return await crypto.subtle.importKey("jwk", pub, params, true, ["verify"]);
}

interface Pkcs8Info {
  der: ArrayBuffer;
  /** Import parameters, or why the key is not supported. */
  params: RsaHashedImportParams | EcKeyImportParams | string;
}

function toPkcs8(block: PemBlock, format: PrivateKeyFormat): Pkcs8Info {
  if (format === "pkcs8") {
    const info = AsnConvert.parse(block.der, PrivateKeyInfo);
    const oid = info.privateKeyAlgorithm.algorithm;
    if (oid === id_rsaEncryption) return { der: copy(block.der), params: rsaImportParams() };
    if (oid === id_ecPublicKey) {
      const raw = info.privateKeyAlgorithm.parameters;
      const curveOid = raw ? AsnConvert.parse(raw, ECParameters).namedCurve : undefined;
      return { der: copy(block.der), params: ecParams(curveOid) };
    }
    return {
      der: copy(block.der),
      params: `unsupported key algorithm ${oid} (only RSA and ECDSA P-256/P-384 are supported)`,
    };
  }
  const info = new PrivateKeyInfo();
  if (format === "pkcs1") {
    info.privateKeyAlgorithm.algorithm = id_rsaEncryption;
    info.privateKeyAlgorithm.parameters = new Uint8Array([0x05, 0x00]).buffer; // NULL
    info.privateKey = new Pkcs8PrivateKey(block.der);
    return { der: AsnConvert.serialize(info), params: rsaImportParams() };
  }
  const ec = AsnConvert.parse(block.der, ECPrivateKey);
  const curveOid = ec.parameters?.namedCurve;
  const params = ecParams(curveOid);
  // Inside PKCS#8 the curve belongs to the algorithm identifier, not the ECPrivateKey.
  const inner = new ECPrivateKey({ privateKey: ec.privateKey, publicKey: ec.publicKey });
  info.privateKeyAlgorithm.algorithm = id_ecPublicKey;
  if (curveOid) {
    info.privateKeyAlgorithm.parameters = AsnConvert.serialize(
      new ECParameters({ namedCurve: curveOid }),
    );
  }
  info.privateKey = new Pkcs8PrivateKey(AsnConvert.serialize(inner));
  return { der: AsnConvert.serialize(info), params };
}

function ecParams(curveOid: string | undefined): EcKeyImportParams | string {
  if (!curveOid) return "the EC key does not name its curve";
  for (const [curve, oid] of Object.entries(CURVE_OIDS)) {
    if (oid === curveOid) return ecImportParams(curve as NamedCurve);
  }
  return `unsupported EC curve ${curveOid} (only P-256 and P-384 are supported)`;
}

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function concat(...parts: ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
