/**
 * The few fields of an X.509 certificate the kubelet verifier needs — serial, validity, issuer
 * and subject, key identifiers, signature algorithm and value, the TBS bytes and the public key
 * — read straight from the DER (`der_reader.ts`) without building `@peculiar/x509`'s object
 * model, which costs about 40× more per certificate. Values are as `@peculiar/x509` gives them
 * (hex serial and key ids, the same name text), so either source can be used.
 * @module
 */
import { createHash } from "node:crypto";
import { x509 } from "./crypto_provider.ts";
import { AsnCertificate, AsnConvert } from "./asn1.ts";
import { authorityKeyId, subjectKeyId } from "./key_identifier.ts";
import {
  childElements,
  contents,
  decodeObjectIdentifier,
  DER_TAG,
  type DerElement,
  DerError,
  encoding,
  expectElement,
  hexOf,
  readElement,
  sameBytes,
} from "./der_reader.ts";
import { type DistinguishedName, readDistinguishedName } from "./distinguished_name.ts";
import { decodePem } from "./pem.ts";

/** The fields of a certificate the verifier reads. */
export interface CertificateFields {
  /** The whole certificate. */
  readonly der: Uint8Array;
  /** The signed part (tbsCertificate), as encoded. */
  readonly tbs: Uint8Array;
  /** Lowercase hex, without the sign octet (as `X509Certificate.serialNumber`). */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The issuer Name's DER. */
  readonly issuerDer: Uint8Array;
  /** The subject Name's DER. */
  readonly subjectDer: Uint8Array;
  /** The issuer as `X509Certificate.issuer` prints it. */
  readonly issuer: string;
  /** The subject as `X509Certificate.subject` prints it. */
  readonly subject: string;
  /** The subject's CN values. */
  readonly subjectCommonNames: readonly string[];
  /** The subject's O values. */
  readonly subjectOrganizations: readonly string[];
  /** The authorityKeyIdentifier's key identifier, lowercase hex, when present. */
  readonly authorityKeyId?: string;
  /** The subjectKeyIdentifier, lowercase hex, when present. */
  readonly subjectKeyId?: string;
  /** The signatureAlgorithm OID, dotted (`1.2.840.113549.1.1.11` for sha256WithRSAEncryption). */
  readonly signatureAlgorithm: string;
  /** The signature value (the BIT STRING's bits). */
  readonly signature: Uint8Array;
  /** The SubjectPublicKeyInfo's DER. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** The public key's algorithm OID (`1.2.840.113549.1.1.1` RSA, `1.2.840.10045.2.1` EC). */
  readonly publicKeyAlgorithm: string;
}

const OID_AUTHORITY_KEY_ID = Uint8Array.of(0x55, 0x1d, 0x23); // 2.5.29.35
const OID_SUBJECT_KEY_ID = Uint8Array.of(0x55, 0x1d, 0x0e); // 2.5.29.14

/**
 * Reads the fields of the DER certificate `der`. Names are rendered on first use.
 * @throws {Error} `Cannot read <source>: …` naming the field and offset, when `der` is not a
 * well-formed certificate.
 */
export function readCertificateFields(
  der: Uint8Array,
  source = "certificate",
): CertificateFields {
  try {
    return new DerCertificate(der);
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new Error(`Cannot read ${source}: not a DER X.509 certificate: ${error.message}`);
  }
}

/**
 * Reads the first CERTIFICATE block of PEM text.
 * @throws {Error} when the text holds no certificate or it is malformed.
 */
export function readCertificateFieldsPem(text: string, source = "PEM text"): CertificateFields {
  const der = firstCertificateDer(text);
  if (der) return readCertificateFields(der, source);
  const block = decodePem(text, source).find((b) => b.label === "CERTIFICATE");
  if (!block) throw new Error(`Cannot read ${source}: no CERTIFICATE block found`);
  return readCertificateFields(block.der, source);
}

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

/**
 * The DER of the first CERTIFICATE block when it is plain base64 (the common case, decoded
 * natively); `undefined` for anything else, which `decodePem` then reads or rejects.
 */
function firstCertificateDer(text: string): Uint8Array | undefined {
  const begin = text.indexOf(BEGIN);
  if (begin < 0 || begin !== text.indexOf("-----BEGIN")) return undefined;
  const end = text.indexOf(END, begin);
  if (end < 0) return undefined;
  try {
    const der = Uint8Array.fromBase64(text.slice(begin + BEGIN.length, end), {
      lastChunkHandling: "strict",
    });
    return der.length ? der : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The same fields from a certificate `@peculiar/x509` parsed (its getters; the OIDs from
 * `@peculiar/asn1-x509`): another implementation, for what the DER reader does not read (an
 * encoding it rejects that `@peculiar/x509` accepts) and to check it against.
 */
export function certificateFieldsOf(cert: x509.X509Certificate): CertificateFields {
  const asn = AsnConvert.parse(cert.rawData, AsnCertificate);
  const aki = authorityKeyId(cert);
  const ski = subjectKeyId(cert);
  return {
    der: new Uint8Array(cert.rawData),
    tbs: new Uint8Array(asn.tbsCertificateRaw ?? AsnConvert.serialize(asn.tbsCertificate)),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuerDer: new Uint8Array(cert.issuerName.toArrayBuffer()),
    subjectDer: new Uint8Array(cert.subjectName.toArrayBuffer()),
    issuer: cert.issuer,
    subject: cert.subject,
    subjectCommonNames: cert.subjectName.getField("CN"),
    subjectOrganizations: cert.subjectName.getField("O"),
    ...(aki !== undefined ? { authorityKeyId: aki } : {}),
    ...(ski !== undefined ? { subjectKeyId: ski } : {}),
    signatureAlgorithm: asn.signatureAlgorithm.algorithm,
    signature: new Uint8Array(cert.signature),
    subjectPublicKeyInfo: new Uint8Array(cert.publicKey.rawData),
    publicKeyAlgorithm: asn.tbsCertificate.subjectPublicKeyInfo.algorithm.algorithm,
  };
}

/** The SHA-256 of a certificate's DER, lowercase hex (as `fingerprint`), computed at once. */
export function certificateSha256(fields: CertificateFields): string {
  return createHash("sha256").update(fields.der).digest("hex");
}

/** Whether two certificates have the same issuer Name encoding as the other's subject. */
export function issuedUnderName(cert: CertificateFields, ca: CertificateFields): boolean {
  return sameBytes(cert.issuerDer, ca.subjectDer);
}

class DerCertificate implements CertificateFields {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly authorityKeyId?: string;
  readonly subjectKeyId?: string;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly publicKeyAlgorithm: string;
  #issuer?: string;
  #subject?: DistinguishedName;
  #commonNames?: readonly string[];
  #organizations?: readonly string[];

  constructor(der: Uint8Array) {
    this.der = der;
    const cert = expectElement(der, 0, der.length, DER_TAG.SEQUENCE, "Certificate");
    if (cert.end !== der.length) {
      throw new DerError(`Certificate: ${der.length - cert.end} bytes after its end`);
    }
    const tbs = expectElement(der, cert.contentStart, cert.end, DER_TAG.SEQUENCE, "tbsCertificate");
    this.tbs = encoding(der, tbs);
    const algorithm = expectElement(
      der,
      tbs.end,
      cert.end,
      DER_TAG.SEQUENCE,
      "signatureAlgorithm",
    );
    this.signatureAlgorithm = algorithmOid(der, algorithm, "signatureAlgorithm");
    const signature = expectElement(
      der,
      algorithm.end,
      cert.end,
      DER_TAG.BIT_STRING,
      "signatureValue",
    );
    if (signature.end !== cert.end) throw new DerError("Certificate: bytes after signatureValue");
    this.signature = bitStringBytes(der, signature, "signatureValue");

    let at = readElement(der, tbs.contentStart, tbs.end, "version");
    if (at.tag === 0xa0) at = readElement(der, at.end, tbs.end, "serialNumber");
    if (at.tag !== DER_TAG.INTEGER || at.end === at.contentStart) {
      throw new DerError(`serialNumber: not an INTEGER at offset ${at.start}`);
    }
    this.serialNumber = serialHex(contents(der, at));
    const innerAlgorithm = expectElement(der, at.end, tbs.end, DER_TAG.SEQUENCE, "signature");
    const issuer = expectElement(der, innerAlgorithm.end, tbs.end, DER_TAG.SEQUENCE, "issuer");
    this.issuerDer = encoding(der, issuer);
    const validity = expectElement(der, issuer.end, tbs.end, DER_TAG.SEQUENCE, "validity");
    const notBefore = readElement(der, validity.contentStart, validity.end, "notBefore");
    const notAfter = readElement(der, notBefore.end, validity.end, "notAfter");
    if (notAfter.end !== validity.end) throw new DerError("validity: more than two times");
    this.notBefore = readTime(der, notBefore, "notBefore");
    this.notAfter = readTime(der, notAfter, "notAfter");
    const subject = expectElement(der, validity.end, tbs.end, DER_TAG.SEQUENCE, "subject");
    this.subjectDer = encoding(der, subject);
    const spki = expectElement(
      der,
      subject.end,
      tbs.end,
      DER_TAG.SEQUENCE,
      "subjectPublicKeyInfo",
    );
    this.subjectPublicKeyInfo = encoding(der, spki);
    const keyAlgorithm = expectElement(
      der,
      spki.contentStart,
      spki.end,
      DER_TAG.SEQUENCE,
      "subjectPublicKeyInfo.algorithm",
    );
    this.publicKeyAlgorithm = algorithmOid(der, keyAlgorithm, "subjectPublicKeyInfo.algorithm");

    for (let offset = spki.end; offset < tbs.end;) {
      const element = readElement(der, offset, tbs.end, "tbsCertificate");
      offset = element.end;
      if (element.tag !== 0xa3) continue; // issuerUniqueID, subjectUniqueID
      const extensions = expectElement(
        der,
        element.contentStart,
        element.end,
        DER_TAG.SEQUENCE,
        "extensions",
      );
      for (const extension of childElements(der, extensions, "extensions")) {
        const id = expectElement(
          der,
          extension.contentStart,
          extension.end,
          DER_TAG.OBJECT_IDENTIFIER,
          "extnID",
        );
        let value = readElement(der, id.end, extension.end, "extnValue");
        if (value.tag === DER_TAG.BOOLEAN) {
          value = readElement(der, value.end, extension.end, "extnValue");
        }
        if (value.tag !== DER_TAG.OCTET_STRING) {
          throw new DerError("extnValue: not an OCTET STRING");
        }
        const oid = contents(der, id);
        if (this.authorityKeyId === undefined && sameBytes(oid, OID_AUTHORITY_KEY_ID)) {
          this.authorityKeyId = authorityKeyIdOf(der, value);
        } else if (this.subjectKeyId === undefined && sameBytes(oid, OID_SUBJECT_KEY_ID)) {
          const id = expectElement(
            der,
            value.contentStart,
            value.end,
            DER_TAG.OCTET_STRING,
            "subjectKeyIdentifier",
          );
          this.subjectKeyId = hexOf(contents(der, id));
        }
      }
    }
  }

  get issuer(): string {
    return this.#issuer ??= issuerText(this.issuerDer);
  }

  get subject(): string {
    return this.#subjectName().text;
  }

  get subjectCommonNames(): readonly string[] {
    return this.#commonNames ??= this.#subjectName().field("CN");
  }

  get subjectOrganizations(): readonly string[] {
    return this.#organizations ??= this.#subjectName().field("O");
  }

  #subjectName(): DistinguishedName {
    return this.#subject ??= readDistinguishedName(this.subjectDer, "subject");
  }
}

/** The issuers read last: a verifier reads thousands of certificates of one or two CAs. */
const recentIssuers: { readonly der: Uint8Array; readonly text: string }[] = [];

function issuerText(der: Uint8Array): string {
  for (const recent of recentIssuers) if (sameBytes(recent.der, der)) return recent.text;
  const text = readDistinguishedName(der, "issuer").text;
  recentIssuers.unshift({ der: der.slice(), text });
  if (recentIssuers.length > 8) recentIssuers.pop();
  return text;
}

function algorithmOid(der: Uint8Array, algorithm: DerElement, field: string): string {
  const oid = expectElement(
    der,
    algorithm.contentStart,
    algorithm.end,
    DER_TAG.OBJECT_IDENTIFIER,
    field,
  );
  return decodeObjectIdentifier(der, oid, field);
}

function bitStringBytes(der: Uint8Array, element: DerElement, field: string): Uint8Array {
  if (element.end === element.contentStart || der[element.contentStart] !== 0) {
    throw new DerError(`${field}: a BIT STRING of whole bytes expected`);
  }
  return der.subarray(element.contentStart + 1, element.end);
}

/** The AuthorityKeyIdentifier's `[0] keyIdentifier`, hex; `undefined` when absent. */
function authorityKeyIdOf(der: Uint8Array, value: DerElement): string | undefined {
  const aki = expectElement(
    der,
    value.contentStart,
    value.end,
    DER_TAG.SEQUENCE,
    "authorityKeyIdentifier",
  );
  const first = aki.contentStart < aki.end
    ? readElement(der, aki.contentStart, aki.end, "authorityKeyIdentifier")
    : undefined;
  return first?.tag === 0x80 ? hexOf(contents(der, first)) : undefined;
}

/** As `@peculiar/x509`: the sign octet of a positive number with its top bit set dropped. */
function serialHex(bytes: Uint8Array): string {
  return hexOf(bytes.length > 1 && bytes[0] === 0 && bytes[1] > 0x7f ? bytes.subarray(1) : bytes);
}

/**
 * A UTCTime (`YYMMDDHHMMSSZ`, years 50–99 in the 1900s) or GeneralizedTime
 * (`YYYYMMDDHHMMSSZ`), the two forms RFC 5280 allows.
 */
function readTime(der: Uint8Array, element: DerElement, field: string): Date {
  const length = element.end - element.contentStart;
  const utc = element.tag === DER_TAG.UTC_TIME && length === 13;
  if (!utc && !(element.tag === DER_TAG.GENERALIZED_TIME && length === 15)) {
    throw new DerError(`${field}: not a UTCTime or GeneralizedTime of RFC 5280's form`);
  }
  if (der[element.end - 1] !== 0x5a) throw new DerError(`${field}: not in UTC (no Z)`);
  let at = element.contentStart;
  const digits = (count: number) => {
    let value = 0;
    for (let i = 0; i < count; i++, at++) {
      const digit = der[at] - 0x30;
      if (digit < 0 || digit > 9) throw new DerError(`${field}: not a time (non-digit)`);
      value = value * 10 + digit;
    }
    return value;
  };
  let year = digits(utc ? 2 : 4);
  if (utc) year += year >= 50 ? 1900 : 2000;
  const month = digits(2);
  const day = digits(2);
  const hour = digits(2);
  const minute = digits(2);
  const second = digits(2);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 ||
    second > 59
  ) {
    throw new DerError(`${field}: not a valid date`);
  }
  date.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  return date;
}
