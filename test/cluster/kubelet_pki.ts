/**
 * Certificates of the emulated kubelets: the initial client certificate issued by the
 * cluster CA (short-lived and backdated so that the first rotation comes soon), the CSR of a
 * rotation (a new ECDSA P-256 key, as the kubelet's certificate manager makes), the
 * certificate manager's jittered rotation deadline, and a summary of a certificate.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey } from "node:crypto";

x509.cryptoProvider.set(crypto);

const EC_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** The PEM blocks of one type (e.g. `CERTIFICATE`) found in a text, in order. */
export function pemBlocks(text: string, type: string): string[] {
  const re = new RegExp(`-----BEGIN ${type}-----[\\s\\S]*?-----END ${type}-----`, "g");
  return [...text.matchAll(re)].map((m) => m[0] + "\n");
}

/** The first private-key PEM block of a text (PKCS#8, PKCS#1 or SEC 1). */
export function privateKeyBlock(text: string): string | undefined {
  return text.match(
    /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]*?-----END (?:RSA |EC )?PRIVATE KEY-----/,
  )
    ?.[0];
}

/** Imports a PEM private key (RSA or EC, any encoding) as a WebCrypto signing key. */
export async function importSigningKey(
  pem: string,
): Promise<{ key: CryptoKey; algorithm: Algorithm }> {
  const keyObject = createPrivateKey(pem);
  const der = keyObject.export({ type: "pkcs8", format: "der" });
  const type = keyObject.asymmetricKeyType;
  let algorithm: RsaHashedImportParams | EcKeyImportParams;
  let signing: Algorithm;
  if (type === "rsa") {
    algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    signing = algorithm;
  } else if (type === "ec") {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : "P-256";
    algorithm = { name: "ECDSA", namedCurve };
    signing = {
      name: "ECDSA",
      hash: namedCurve === "P-256" ? "SHA-256" : "SHA-384",
    } as EcdsaParams;
  } else {
    throw new Error(`Cannot sign with a ${type} key`);
  }
  const key = await crypto.subtle.importKey("pkcs8", new Uint8Array(der), algorithm, false, [
    "sign",
  ]);
  return { key, algorithm: signing };
}

async function newKeyPair(): Promise<{ keys: CryptoKeyPair; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keys, keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n" };
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The kubelet's client identity `O=system:nodes, CN=system:node:<name>`, in the order Go
 * encodes it (the controller-manager re-encodes CSR subjects that way).
 */
export function nodeSubject(nodeName: string): string {
  return `O=system:nodes, CN=system:node:${nodeName}`;
}

/** What {@linkcode issueClientCertificate} needs. */
export interface IssueRequest {
  /** PEM of the issuing CA certificate. */
  caCertPem: string;
  /** PEM of the issuing CA key. */
  caKeyPem: string;
  /** Subject, e.g. {@linkcode nodeSubject}. */
  subject: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
}

/**
 * Issues a client certificate (ECDSA P-256 key; usages digital signature + client auth, as
 * the controller-manager signs kubelet client CSRs) and returns the certificate and key PEM.
 */
export async function issueClientCertificate(
  req: IssueRequest,
): Promise<{ certPem: string; keyPem: string }> {
  const ca = new x509.X509Certificate(pemBlocks(req.caCertPem, "CERTIFICATE")[0]);
  const { key: signingKey, algorithm } = await importSigningKey(req.caKeyPem);
  const { keys, keyPem } = await newKeyPair();
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.BasicConstraintsExtension(false, undefined, true),
  ];
  if (ski) extensions.push(new x509.AuthorityKeyIdentifierExtension(ski.keyId));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: req.subject,
    issuer: ca.subject,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: algorithm,
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem };
}

/** A fresh key and a CSR for it with the given subject (what a kubelet sends to rotate). */
export async function createCsr(subject: string): Promise<{ csrPem: string; keyPem: string }> {
  const { keys, keyPem } = await newKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: EC_P256,
  });
  return { csrPem: csr.toString("pem") + "\n", keyPem };
}

/**
 * The kubelet certificate manager's rotation deadline: NotBefore + a uniformly jittered
 * 70–90 % of the certificate's lifetime (`wait.Jitter(total, 0.2) - 0.3*total`).
 */
export function rotationDeadline(
  notBefore: Date,
  notAfter: Date,
  random: number = Math.random(),
): Date {
  const total = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + total * (0.7 + 0.2 * random));
}

/** Facts about a certificate, for status reports. */
export interface CertSummary {
  /** Subject DN. */
  subject: string;
  /** Issuer DN. */
  issuer: string;
  /** Serial number (hex). */
  serial: string;
  /** Start of validity (ISO). */
  notBefore: string;
  /** End of validity (ISO). */
  notAfter: string;
  /** Authority key identifier (hex), if present. */
  authorityKeyId: string | null;
  /** Hex SHA-256 of the DER of the CA among `cas` whose key signed the certificate. */
  issuerFingerprint: string | null;
}

/** Hex SHA-256 fingerprint of a certificate's DER. */
export async function fingerprint(certPem: string): Promise<string> {
  const cert = new x509.X509Certificate(certPem);
  const digest = await cert.getThumbprint("SHA-256");
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Summarises a certificate; `cas` are PEM CA certificates that may have signed it. */
export async function summarizeCertificate(
  certPem: string,
  cas: string[] = [],
): Promise<CertSummary> {
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  let issuerFingerprint: string | null = null;
  for (const caPem of cas) {
    try {
      const ca = new x509.X509Certificate(caPem);
      if (ca.subject !== cert.issuer) continue;
      if (await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })) {
        issuerFingerprint = await fingerprint(caPem);
        break;
      }
    } catch {
      // not a usable CA certificate
    }
  }
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    authorityKeyId: aki?.keyId ?? null,
    issuerFingerprint,
  };
}

/** NotBefore and NotAfter of a PEM certificate. */
export function validity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = new x509.X509Certificate(certPem);
  return { notBefore: cert.notBefore, notAfter: cert.notAfter };
}
