/**
 * The two CAs a rotation moves between, and which of them issued a certificate: by its key ids
 * where they decide, else by signature verification (old and new cluster CA usually share the
 * subject "kubernetes").
 * @module
 */
import {
  authorityKeyId,
  type CertificateFields,
  certificateFieldsOf,
  fingerprint,
  issuedUnderName,
  parseCertificates,
  sameCertificate,
  subjectKeyId,
  x509,
} from "../pki/mod.ts";

/** The CA certificates a kubelet client certificate is checked against. */
export interface CaTrust {
  /** The new CA (one certificate, or several equivalent ones). */
  readonly newCas: readonly x509.X509Certificate[];
  /** The old CA(s); may be empty when only the new CA is known. */
  readonly oldCas: readonly x509.X509Certificate[];
}

/** Which CA issued a certificate. */
export type IssuerClass = "new" | "old" | "unknown";

/** A CA as reports show it (no key material). */
export interface CaSummary {
  readonly subject: string;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint: string;
  /** ISO 8601. */
  readonly notAfter: string;
}

/**
 * The trust from PEM texts: `newCa` holds the new CA, `oldCa` (optional) the old one(s).
 * Certificates of `oldCa` that are also in `newCa` count as new.
 * @throws {Error} when `newCa` holds no certificate.
 */
export function caTrustFromPem(newCa: string, oldCa?: string): CaTrust {
  const newCas = parseCertificates(newCa, "the new CA");
  const isNew = (cert: x509.X509Certificate) => newCas.some((n) => sameCertificate(n, cert));
  const oldCas = oldCa ? parseCertificates(oldCa, "the old CA").filter((c) => !isNew(c)) : [];
  return { newCas, oldCas };
}

/**
 * The trust from a bundle (old + new, in any order). With `newCa` the bundle's other
 * certificates are the old CAs; without it the certificate with the latest NotBefore is taken as
 * the new CA (a rotation's new CA is the younger one).
 * @throws {Error} when the bundle (or `newCa`) holds no certificate.
 */
export function caTrustFromBundle(bundle: string, newCa?: string): CaTrust {
  if (newCa !== undefined) return caTrustFromPem(newCa, bundle);
  const certs = parseCertificates(bundle, "the CA bundle");
  const newest = certs.reduce((a, b) => (b.notBefore > a.notBefore ? b : a));
  return { newCas: [newest], oldCas: certs.filter((c) => c !== newest) };
}

/**
 * Classifies the issuer of `cert`: `new` when its signature verifies with a new CA's key,
 * `old` with an old CA's key, else `unknown`. The CA whose subject key id matches the
 * certificate's authority key id is tried first (one signature check in the common case); CA
 * keys are imported once; results are remembered per trust and certificate fingerprint when
 * `print` is given (a wait re-checks the same certificates every round). Always checks
 * signatures (fields are parsed by `@peculiar/x509` for it); {@link issuerByKeyId} first where
 * a signature check is not needed.
 */
export async function classifyIssuer(
  certificate: x509.X509Certificate | CertificateFields,
  trust: CaTrust,
  print?: string,
): Promise<IssuerClass> {
  const cert = certificate instanceof x509.X509Certificate
    ? certificate
    : new x509.X509Certificate(new Uint8Array(certificate.der));
  const memo = print !== undefined ? memoOf(trust) : undefined;
  const known = print !== undefined ? memo!.get(print) : undefined;
  if (known) return known;
  const aki = authorityKeyId(cert);
  const candidates: [x509.X509Certificate, IssuerClass][] = [
    ...trust.newCas.map((ca) => [ca, "new"] as [x509.X509Certificate, IssuerClass]),
    ...trust.oldCas.map((ca) => [ca, "old"] as [x509.X509Certificate, IssuerClass]),
  ];
  if (aki) {
    candidates.sort(([a], [b]) =>
      Number(subjectKeyId(b) === aki) - Number(subjectKeyId(a) === aki)
    );
  }
  let result: IssuerClass = "unknown";
  for (const [ca, kind] of candidates) {
    if (await signedBy(cert, ca)) {
      result = kind;
      break;
    }
  }
  memo?.set(print!, result);
  return result;
}

/**
 * The issuer of `cert` by its key ids alone, where they decide: its authority key id names CAs
 * of the trust that all have one public key, the first of them (new before old, the order
 * {@link classifyIssuer} tries them in) has the certificate's issuer name as subject, and the
 * signature algorithm is a SHA-2 one of that key's type. `undefined` where they do not decide —
 * no authority key id, one naming no CA of the trust or CAs with different keys, another issuer
 * name, another algorithm — and {@link classifyIssuer} must check signatures.
 *
 * Where they decide, the signature is not checked: a certificate whose key id and issuer name
 * name a CA of the trust while another key signed it counts as that CA's. Such a certificate
 * authenticates only if one of the trust's CA keys signed it, with a key id not its own —
 * which neither Go's crypto/x509 (kubeadm, the controller-manager's signer) nor ca-rotator
 * writes; one signed by any other key authenticates with neither CA, before or after the old
 * CA is removed.
 */
export function issuerByKeyId(cert: CertificateFields, trust: CaTrust): IssuerClass | undefined {
  const aki = cert.authorityKeyId;
  if (!aki) return undefined;
  const named = keyIdsOf(trust).filter((ca) => ca.fields.subjectKeyId === aki);
  if (named.length === 0) return undefined;
  const [first] = named;
  if (!named.every((ca) => sameKey(ca.fields, first.fields))) return undefined;
  if (!issuedUnderName(cert, first.fields)) return undefined;
  const algorithms = SIGNATURE_ALGORITHMS[first.fields.publicKeyAlgorithm];
  if (!algorithms?.includes(cert.signatureAlgorithm)) return undefined;
  return first.kind;
}

/** SHA-2 signature algorithms by public-key algorithm (RSA PKCS #1 v1.5, ECDSA). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  "1.2.840.113549.1.1.1": [
    "1.2.840.113549.1.1.11",
    "1.2.840.113549.1.1.12",
    "1.2.840.113549.1.1.13",
  ],
  "1.2.840.10045.2.1": ["1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"],
};

interface CaKeyId {
  readonly fields: CertificateFields;
  readonly kind: IssuerClass;
}

const keyIds = new WeakMap<CaTrust, CaKeyId[]>();

/** The trust's CAs as fields, new before old (read once per trust). */
function keyIdsOf(trust: CaTrust): CaKeyId[] {
  let cas = keyIds.get(trust);
  if (!cas) {
    cas = [
      ...trust.newCas.map((ca) => ({ fields: certificateFieldsOf(ca), kind: "new" as const })),
      ...trust.oldCas.map((ca) => ({ fields: certificateFieldsOf(ca), kind: "old" as const })),
    ];
    keyIds.set(trust, cas);
  }
  return cas;
}

function sameKey(a: CertificateFields, b: CertificateFields): boolean {
  return equalBytes(a.subjectPublicKeyInfo, b.subjectPublicKeyInfo);
}

const memos = new WeakMap<CaTrust, Map<string, IssuerClass>>();

function memoOf(trust: CaTrust): Map<string, IssuerClass> {
  let memo = memos.get(trust);
  if (!memo) memos.set(trust, memo = new Map());
  return memo;
}

const caKeys = new WeakMap<x509.X509Certificate, Map<string, Promise<CryptoKey>>>();

/**
 * Whether `cert`'s issuer name is `ca`'s subject and its signature verifies with `ca`'s key
 * (imported once per CA and signature algorithm). Dates are not checked.
 */
async function signedBy(cert: x509.X509Certificate, ca: x509.X509Certificate): Promise<boolean> {
  if (
    !equalBytes(
      new Uint8Array(cert.issuerName.toArrayBuffer()),
      new Uint8Array(ca.subjectName.toArrayBuffer()),
    )
  ) {
    return false;
  }
  try {
    const algorithm = cert.signatureAlgorithm as Algorithm & { hash?: Algorithm };
    const id = `${algorithm.name}/${algorithm.hash?.name ?? ""}`;
    let keys = caKeys.get(ca);
    if (!keys) caKeys.set(ca, keys = new Map());
    let key = keys.get(id);
    if (!key) {
      // the CA key's own parameters (an EC key's curve) with the signature's hash
      key = ca.publicKey.export({ ...ca.publicKey.algorithm, ...algorithm }, ["verify"]);
      keys.set(id, key);
    }
    return await cert.verify({ publicKey: await key, signatureOnly: true });
  } catch {
    return false;
  }
}

/** Classifies a CA certificate itself (e.g. the controller-manager's signing certificate). */
export function classifyCa(cert: x509.X509Certificate, trust: CaTrust): IssuerClass {
  if (trust.newCas.some((c) => sameCertificate(c, cert) || sameCa(c, cert))) return "new";
  if (trust.oldCas.some((c) => sameCertificate(c, cert) || sameCa(c, cert))) return "old";
  return "unknown";
}

/** Summaries of the CAs of a trust. */
export async function summarizeTrust(
  trust: CaTrust,
): Promise<{ new: CaSummary[]; old: CaSummary[] }> {
  const summary = async (cert: x509.X509Certificate): Promise<CaSummary> => ({
    subject: cert.subject,
    fingerprint: await fingerprint(cert),
    notAfter: cert.notAfter.toISOString(),
  });
  return {
    new: await Promise.all(trust.newCas.map(summary)),
    old: await Promise.all(trust.oldCas.map(summary)),
  };
}

/** Same subject and same public key: the same CA re-encoded or re-signed. */
function sameCa(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return a.subject === b.subject &&
    equalBytes(new Uint8Array(a.publicKey.rawData), new Uint8Array(b.publicKey.rawData));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
