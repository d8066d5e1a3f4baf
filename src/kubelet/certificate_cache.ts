/**
 * The kubelet client certificates one verifier run sees: each distinct certificate read from its
 * PEM once and its issuer classified once across the rounds of a wait — by key ids where they
 * decide, by signature where they do not. Bounded; lives as long as the run's trust.
 * @module
 */
import {
  type CertificateFields,
  certificateFieldsOf,
  certificateSha256,
  parseCertificate,
  readCertificateFieldsPem,
} from "../pki/mod.ts";
import { type CaTrust, classifyIssuer, issuerByKeyId, type IssuerClass } from "./ca_trust.ts";

/** A certificate's issuer class and fingerprint. */
export interface ClassifiedCertificate {
  readonly issuer: IssuerClass;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint: string;
}

/** How many certificates a cache holds by default: a large cluster's, twice over. */
export const CERTIFICATE_CACHE_LIMIT = 50_000;

/**
 * Certificates read and classified against one trust. Beyond `limit` entries (each map) the
 * oldest are forgotten, and read or classified again if they come back.
 */
export class CertificateCache {
  readonly trust: CaTrust;
  readonly #limit: number;
  readonly #read = new Map<string, CertificateFields>();
  readonly #classified = new Map<string, Promise<IssuerClass>>();
  /** What the cache did: certificates read, issuers decided by key id, by signature. */
  readonly counts = { read: 0, byKeyId: 0, bySignature: 0 };

  constructor(trust: CaTrust, limit = CERTIFICATE_CACHE_LIMIT) {
    this.trust = trust;
    this.#limit = limit;
  }

  /**
   * The certificate in `pem`, read once per distinct text.
   * @throws {Error} as {@link readClientCertificate}.
   */
  read(pem: string, source: string): CertificateFields {
    let fields = this.#read.get(pem);
    if (!fields) {
      fields = readClientCertificate(pem, source);
      this.counts.read++;
      remember(this.#read, pem, fields, this.#limit);
    }
    return fields;
  }

  /** The issuer class and fingerprint of `cert`, classified once per distinct certificate. */
  async classify(cert: CertificateFields): Promise<ClassifiedCertificate> {
    const fingerprint = certificateSha256(cert);
    let issuer = this.#classified.get(fingerprint);
    if (!issuer) {
      const byKeyId = issuerByKeyId(cert, this.trust);
      if (byKeyId) this.counts.byKeyId++;
      else this.counts.bySignature++;
      issuer = byKeyId ? Promise.resolve(byKeyId) : classifyIssuer(cert, this.trust);
      remember(this.#classified, fingerprint, issuer, this.#limit);
    }
    return { issuer: await issuer, fingerprint };
  }
}

/**
 * A client certificate from PEM text: read by the DER reader, or — for an encoding it rejects
 * (a BER length, another time form) — by `@peculiar/x509`, so the verifier accepts what it
 * accepted before and a broken certificate gets the same error.
 * @throws {Error} `Cannot parse <source>: …` when neither reads it.
 */
export function readClientCertificate(pem: string, source: string): CertificateFields {
  try {
    return readCertificateFieldsPem(pem, source);
  } catch {
    return certificateFieldsOf(parseCertificate(pem, source));
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}
