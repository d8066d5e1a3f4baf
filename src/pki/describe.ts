/**
 * Human-readable certificate descriptions for logs, dry runs and status output. They never
 * include key material.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { fingerprint } from "./fingerprint.ts";
import { isCa } from "./ca.ts";
import { type SubjectAltNames, subjectAltNames } from "./subject_alt_names.ts";
import { describeKey } from "./key_type.ts";
import { authorityKeyId, subjectKeyId } from "./key_identifier.ts";

/** The facts about a certificate an operator looks at. */
export interface CertificateDescription extends SubjectAltNames {
  subject: string;
  issuer: string;
  /** Serial number, hex. */
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  isCa: boolean;
  /** Public key type, e.g. `rsa-2048` or `ecdsa-p256`. */
  publicKey: string;
  keyUsages: string[];
  extKeyUsages: string[];
  subjectKeyId?: string;
  authorityKeyId?: string;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
}

/** Describes a certificate (no key material). */
export async function describeCertificate(
  cert: x509.X509Certificate,
): Promise<CertificateDescription> {
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  let publicKey: string;
  try {
    publicKey = describeKey(await cert.publicKey.export());
  } catch {
    publicKey = cert.publicKey.algorithm.name;
  }
  const description: CertificateDescription = {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    isCa: isCa(cert),
    publicKey,
    keyUsages: ku ? keyUsageNames(ku.usages) : [],
    extKeyUsages: eku ? Array.from(eku.usages, (u) => extKeyUsageName(String(u))) : [],
    ...subjectAltNames(cert),
    fingerprint: await fingerprint(cert),
  };
  const ski = subjectKeyId(cert);
  if (ski) description.subjectKeyId = ski;
  const aki = authorityKeyId(cert);
  if (aki) description.authorityKeyId = aki;
  return description;
}

/** Renders a description as indented `key: value` lines. */
export function formatCertificateDescription(d: CertificateDescription): string {
  const lines: [string, string][] = [
    ["subject", d.subject],
    ["issuer", d.issuer],
    ["serial", d.serialNumber],
    ["valid", `${d.notBefore} .. ${d.notAfter}`],
    ["ca", String(d.isCa)],
    ["key", d.publicKey],
  ];
  if (d.keyUsages.length) lines.push(["key usages", d.keyUsages.join(", ")]);
  if (d.extKeyUsages.length) lines.push(["ext key usages", d.extKeyUsages.join(", ")]);
  const sans = [
    ...d.dnsNames.map((n) => `DNS:${n}`),
    ...d.ipAddresses.map((n) => `IP:${n}`),
    ...d.uris.map((n) => `URI:${n}`),
    ...d.emails.map((n) => `email:${n}`),
  ];
  if (sans.length) lines.push(["SANs", sans.join(", ")]);
  if (d.subjectKeyId) lines.push(["subject key id", d.subjectKeyId]);
  if (d.authorityKeyId) lines.push(["authority key id", d.authorityKeyId]);
  lines.push(["sha256", d.fingerprint]);
  return lines.map(([k, v]) => `  ${k}: ${v}`).join("\n") + "\n";
}

function keyUsageNames(bits: number): string[] {
  return Object.entries(x509.KeyUsageFlags)
    .filter(([name, flag]) => isNaN(Number(name)) && typeof flag === "number" && bits & flag)
    .map(([name]) => name);
}

function extKeyUsageName(usage: string): string {
  const entry = Object.entries(x509.ExtendedKeyUsage).find(([, oid]) => oid === usage);
  return entry ? entry[0] : usage;
}
