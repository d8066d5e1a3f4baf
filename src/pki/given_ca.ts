/**
 * A CA the operator gives as two files (certificate and key) and ca-rotator is to install:
 * checked as a whole before anything uses it, as the components that will use it would — a
 * certificate (not a key, not empty, not cut short) that is a CA allowed to sign certificates
 * (basicConstraints CA:true, keyUsage keyCertSign) with a subject key identifier, valid now and
 * for at least as long as the leaves the plan issues with it, with an unencrypted RSA (2048 to
 * 8192 bits) or ECDSA (P-256, P-384) key that belongs to it.
 *
 * The certificate file may hold the CA's chain besides the CA (an intermediate CA and its
 * issuers): the chain is split off and checked (each certificate a CA that signed the one
 * before it, valid now, none left over). Only the CA itself is installed: the controller-manager's
 * signer takes exactly one certificate, and the chain's root in a client-CA bundle would let
 * every certificate that root ever signed authenticate to the API servers.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { decodePem, isPrivateKeyLabel } from "./pem.ts";
import { parseCertificates } from "./bundle.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { isCa } from "./ca.ts";
import { issuedBy } from "./verify_chain.ts";
import { describeKey } from "./key_type.ts";

/** The smallest RSA modulus a given CA key may have, in bits (as kubeadm and NIST). */
export const MIN_RSA_BITS = 2048;

/** The largest RSA modulus Go's crypto/rsa (the API server's TLS) accepts, in bits. */
export const MAX_RSA_BITS = 8192;

/** The ECDSA curves a given CA key may use: Go's TLS stack and kubeadm accept these. */
export const CA_CURVES: readonly string[] = ["P-256", "P-384"];

const DAY = 24 * 60 * 60 * 1000;

/** Which of the two files a {@link GivenCaError} is about. */
export type GivenCaFile = "cert" | "key";

/** A given CA that cannot be used; `file` says which file is at fault. Never quotes a key. */
export class GivenCaError extends Error {
  constructor(readonly file: GivenCaFile, message: string) {
    super(message);
    this.name = "GivenCaError";
  }
}

/** A given CA that passed every check. */
export interface GivenCa {
  /** The CA itself: the certificate the key belongs to. */
  readonly cert: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  /** Its issuers, from the CA's own issuer up, when the file held a chain; else empty. */
  readonly chain: readonly x509.X509Certificate[];
}

/** Options of {@link checkGivenCa}. */
export interface GivenCaCheckOptions {
  /** The time the CA must be valid at (default: now). */
  readonly now?: Date;
  /**
   * The longest lifetime, in days, of the leaves the plan issues with the CA: a CA that expires
   * sooner would cut them short. Default: no such check.
   */
  readonly leafDays?: number;
}

/**
 * Checks a given CA's certificate and key PEM texts.
 * @throws {GivenCaError} naming the file at fault and why.
 */
export async function checkGivenCa(
  certPem: string,
  keyPem: string,
  options: GivenCaCheckOptions = {},
): Promise<GivenCa> {
  const now = options.now ?? new Date();
  const certs = certificatesOf(certPem);
  const privateKey = await keyOf(keyPem);
  checkKeyType(privateKey);
  const cert = await ownCertificate(certs, privateKey);
  checkCanSign(cert);
  checkValidity(cert, now);
  if (options.leafDays !== undefined) {
    const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY);
    if (daysLeft < options.leafDays) {
      throw new GivenCaError(
        "cert",
        `certificate "${cert.subject}" expires on ${cert.notAfter.toISOString()}, in ` +
          `${daysLeft} days: sooner than the ${options.leafDays}-day certificates the plan ` +
          "issues with it, which would end with it; give a CA valid for longer",
      );
    }
  }
  const chain = await chainOf(cert, certs.filter((other) => other !== cert), now);
  return { cert, privateKey, chain };
}

function checkKeyType(privateKey: CryptoKey): void {
  const algorithm = privateKey.algorithm as Partial<RsaHashedKeyAlgorithm & EcKeyAlgorithm>;
  if (algorithm.modulusLength !== undefined) {
    if (algorithm.modulusLength < MIN_RSA_BITS) {
      throw new GivenCaError(
        "key",
        `the RSA key has ${algorithm.modulusLength} bits; a CA key needs at least ${MIN_RSA_BITS}`,
      );
    }
    if (algorithm.modulusLength > MAX_RSA_BITS) {
      throw new GivenCaError(
        "key",
        `the RSA key has ${algorithm.modulusLength} bits; Go's TLS (the API server's) accepts ` +
          `at most ${MAX_RSA_BITS}`,
      );
    }
    return;
  }
  if (algorithm.name !== "ECDSA" || !CA_CURVES.includes(String(algorithm.namedCurve))) {
    throw new GivenCaError(
      "key",
      `the key is ${describeKey(privateKey)}; a CA key must be RSA (${MIN_RSA_BITS}–` +
        `${MAX_RSA_BITS} bits) or ECDSA (${CA_CURVES.join(", ")}), as kubeadm's`,
    );
  }
}

/** The certificate of `certs` that `privateKey` belongs to. */
async function ownCertificate(
  certs: readonly x509.X509Certificate[],
  privateKey: CryptoKey,
): Promise<x509.X509Certificate> {
  for (const cert of certs) {
    if (await keyMatchesCertificate(privateKey, cert)) return cert;
  }
  const names = certs.map((cert) => `"${cert.subject}" (serial ${cert.serialNumber})`);
  throw new GivenCaError(
    "key",
    `the key does not match certificate ${names.join(" or ")}`,
  );
}

function checkCanSign(cert: x509.X509Certificate): void {
  if (!isCa(cert)) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" is not a CA (no basicConstraints CA:true): a leaf cannot sign`,
    );
  }
  const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages;
  if (usages === undefined || (usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" has ${
        usages === undefined ? "no keyUsage extension" : "a keyUsage without keyCertSign"
      }: it may not sign certificates (kubeadm's CAs carry keyUsage keyCertSign)`,
    );
  }
  if (cert.getExtension(x509.SubjectKeyIdentifierExtension) === null) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" has no subjectKeyIdentifier: the certificates it signs ` +
        "could not name it (authorityKeyIdentifier)",
    );
  }
}

function checkValidity(cert: x509.X509Certificate, now: Date): void {
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" expired on ${cert.notAfter.toISOString()}`,
    );
  }
  if (cert.notBefore.getTime() > now.getTime()) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`,
    );
  }
}

/**
 * The issuers of `cert` among `others`, in order, each a valid CA that signed the one before;
 * a certificate of `others` that is not on that path is refused.
 */
async function chainOf(
  cert: x509.X509Certificate,
  others: readonly x509.X509Certificate[],
  now: Date,
): Promise<x509.X509Certificate[]> {
  const chain: x509.X509Certificate[] = [];
  const left = [...others];
  let last = cert;
  while (left.length > 0 && last.subject !== last.issuer) {
    let issuer: x509.X509Certificate | undefined;
    for (const candidate of left) {
      if (await issuedBy(last, candidate)) issuer = candidate;
    }
    if (issuer === undefined) break;
    if (!isCa(issuer)) {
      throw new GivenCaError(
        "cert",
        `the chain's certificate "${issuer.subject}" is not a CA (no basicConstraints CA:true)`,
      );
    }
    checkValidity(issuer, now);
    chain.push(issuer);
    left.splice(left.indexOf(issuer), 1);
    last = issuer;
  }
  if (left.length > 0) {
    throw new GivenCaError(
      "cert",
      `holds ${left.length === 1 ? "a certificate" : `${left.length} certificates`} outside ` +
        `the chain of "${cert.subject}": ${left.map((c) => `"${c.subject}"`).join(", ")} ` +
        `(the file must hold the CA and, optionally, its issuers)`,
    );
  }
  return chain;
}

function certificatesOf(pem: string): x509.X509Certificate[] {
  const blocks = pemBlocks("cert", pem, "a certificate");
  if (!blocks.some((label) => label === "CERTIFICATE")) {
    throw new GivenCaError(
      "cert",
      blocks.some(isPrivateKeyLabel)
        ? "holds a private key, not a certificate"
        : `holds no CERTIFICATE block (found ${blocks.map((b) => `"${b}"`).join(", ")})`,
    );
  }
  try {
    return parseCertificates(pem, "the file");
  } catch (error) {
    throw new GivenCaError("cert", (error as Error).message);
  }
}

async function keyOf(pem: string): Promise<CryptoKey> {
  const blocks = pemBlocks("key", pem, "a private key");
  if (blocks.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/i.test(pem)) {
    throw new GivenCaError(
      "key",
      "the private key is encrypted; give it unencrypted (e.g. `openssl pkey -in K -out K.plain`)",
    );
  }
  if (!blocks.some(isPrivateKeyLabel)) {
    throw new GivenCaError(
      "key",
      blocks.includes("CERTIFICATE")
        ? "holds a certificate, not a private key"
        : `holds no PRIVATE KEY block (found ${blocks.map((b) => `"${b}"`).join(", ")})`,
    );
  }
  try {
    return (await parsePrivateKey(pem, "in the file")).privateKey;
  } catch (error) {
    throw new GivenCaError("key", (error as Error).message);
  }
}

/** The labels of the PEM blocks of a file, refusing an empty, non-PEM or cut-short text. */
function pemBlocks(file: GivenCaFile, pem: string, what: string): string[] {
  if (pem.trim() === "") throw new GivenCaError(file, `is empty (expected ${what} in PEM)`);
  let labels: string[];
  try {
    labels = decodePem(pem, "the file").map((block) => block.label);
  } catch (error) {
    throw new GivenCaError(file, (error as Error).message);
  }
  const begins = pem.match(/-----BEGIN [A-Z0-9 ]+-----/g)?.length ?? 0;
  if (begins > labels.length) {
    throw new GivenCaError(
      file,
      "is cut short: a PEM block begins but does not end (-----END … missing)",
    );
  }
  if (labels.length === 0) throw new GivenCaError(file, `is not PEM (expected ${what})`);
  return labels;
}
