/**
 * A CA the operator gives as two files (certificate and key) and ca-rotator is to install:
 * checked as a whole before anything uses it — a certificate (not a key, not empty, not cut
 * short) that is a CA, valid now, with an unencrypted key of at least 2048 bits (RSA) that
 * belongs to it.
 * @module
 */
import type { x509 } from "./crypto_provider.ts";
import { decodePem, isPrivateKeyLabel } from "./pem.ts";
import { parseCertificate } from "./bundle.ts";
import { parsePrivateKey } from "./private_key.ts";
import { keyMatchesCertificate } from "./key_match.ts";
import { isCa } from "./ca.ts";

/** The smallest RSA modulus a given CA key may have, in bits (as kubeadm and NIST). */
export const MIN_RSA_BITS = 2048;

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
  readonly cert: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

/**
 * Checks a given CA's certificate and key PEM texts.
 * @param now the time the CA must be valid at (default: now).
 * @throws {GivenCaError} naming the file at fault and why.
 */
export async function checkGivenCa(
  certPem: string,
  keyPem: string,
  now: Date = new Date(),
): Promise<GivenCa> {
  const cert = certificateOf(certPem);
  if (!isCa(cert)) {
    throw new GivenCaError(
      "cert",
      `certificate "${cert.subject}" is not a CA (no basicConstraints CA:true): a leaf cannot sign`,
    );
  }
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
  const privateKey = await keyOf(keyPem);
  const algorithm = privateKey.algorithm as Partial<RsaHashedKeyAlgorithm>;
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < MIN_RSA_BITS) {
    throw new GivenCaError(
      "key",
      `the RSA key has ${algorithm.modulusLength} bits; a CA key needs at least ${MIN_RSA_BITS}`,
    );
  }
  if (!(await keyMatchesCertificate(privateKey, cert))) {
    throw new GivenCaError(
      "key",
      `the key does not match certificate "${cert.subject}" (serial ${cert.serialNumber})`,
    );
  }
  return { cert, privateKey };
}

function certificateOf(pem: string): x509.X509Certificate {
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
    return parseCertificate(pem, "the file");
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
