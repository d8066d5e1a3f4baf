/**
 * Reading the subjectAltName extension of a certificate or CSR.
 * @module
 */
import { x509 } from "./crypto_provider.ts";

/** The subjectAltName extension's OID. */
export const SUBJECT_ALT_NAME = "2.5.29.17";

/** The subject alternative names, by kind, in the order the extension lists them. */
export interface SubjectAltNames {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
}

/** The SANs of a certificate or CSR; empty lists when it has none. */
export function subjectAltNames(
  source: x509.X509Certificate | x509.Pkcs10CertificateRequest,
): SubjectAltNames {
  const out: SubjectAltNames = { dnsNames: [], ipAddresses: [], uris: [], emails: [] };
  const raw = source.getExtension(SUBJECT_ALT_NAME);
  const ext = raw && !(raw instanceof x509.SubjectAlternativeNameExtension)
    ? new x509.SubjectAlternativeNameExtension(raw.rawData)
    : raw;
  for (const name of ext?.names.items ?? []) {
    if (name.type === "dns") out.dnsNames.push(name.value);
    else if (name.type === "ip") out.ipAddresses.push(name.value);
    else if (name.type === "url") out.uris.push(name.value);
    else if (name.type === "email") out.emails.push(name.value);
  }
  return out;
}

/** Builds a subjectAltName extension, or `undefined` when there are no names. */
export function subjectAltNameExtension(
  names: Partial<SubjectAltNames>,
): x509.SubjectAlternativeNameExtension | undefined {
  const json: x509.JsonGeneralNames = [
    ...(names.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(names.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(names.uris ?? []).map((value) => ({ type: "url" as const, value })),
    ...(names.emails ?? []).map((value) => ({ type: "email" as const, value })),
  ];
  return json.length ? new x509.SubjectAlternativeNameExtension(json) : undefined;
}
