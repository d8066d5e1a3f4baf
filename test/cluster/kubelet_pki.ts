/**
 * Certificates of the test cluster's kubelets: the initial client certificate issued by the
 * cluster CA (short-lived and backdated so that the first rotation comes soon), the summary of
 * a certificate kubelet-client reports, and PEM helpers.
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

/** Facts about a certificate, as kubelet-client reports them in status.json. */
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
