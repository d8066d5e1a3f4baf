/**
 * Issuing a certificate from a plain spec (no CSR): the client certificates of kubeconfigs
 * (`admin.conf`, `scheduler.conf`, …), kubelet client certificates signed from a CSR's public
 * key, and serving certificates for tests.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { describeKey, generateKeyPair, type KeyType, signingAlgorithm } from "./key_type.ts";
import { encodePrivateKey, kubeadmKeyFormat, type PrivateKeyFormat } from "./private_key.ts";
import { certificateToPem } from "./bundle.ts";
import type { CertificateAuthority } from "./ca.ts";
import { authorityKeyIdentifierFor } from "./key_identifier.ts";
import { subjectAltNameExtension, type SubjectAltNames } from "./subject_alt_names.ts";
import { resolveValidity, type ValidityOptions } from "./validity.ts";

/** A keyUsage bit, by its RFC 5280 name. */
export type KeyUsageName = keyof typeof x509.KeyUsageFlags;

/** An extendedKeyUsage purpose: `serverAuth`, `clientAuth`, … or a dotted OID. */
export type ExtKeyUsageName = keyof typeof x509.ExtendedKeyUsage | string;

/** What to issue. */
export interface IssueCertificateOptions extends ValidityOptions, Partial<SubjectAltNames> {
  /** The signing CA. */
  ca: CertificateAuthority;
  /** Subject CN, e.g. `kubernetes-admin` or `system:node:worker-1`. */
  commonName: string;
  /** Subject O values (Kubernetes groups), e.g. `["system:masters"]`. */
  organizations?: string[];
  /** keyUsage bits. Default: digitalSignature and keyEncipherment, as kubeadm. */
  keyUsages?: KeyUsageName[];
  /** extendedKeyUsage purposes. Default: `["clientAuth"]`. */
  extKeyUsages?: ExtKeyUsageName[];
  /**
   * The subject's public key (e.g. from a CSR). When absent a key pair of `keyType` is
   * generated and returned.
   */
  publicKey?: CryptoKey | x509.PublicKey;
  /** Type of a generated key. Default: the CA key's type. */
  keyType?: KeyType;
  /** Encoding of a generated key. Default: kubeadm's (PKCS#1 for RSA, SEC1 for ECDSA). */
  keyFormat?: PrivateKeyFormat;
}

/** An issued certificate, with its key when one was generated. */
export interface IssuedCertificate {
  cert: x509.X509Certificate;
  certPem: string;
  /** Present when the key pair was generated here. */
  keyPem?: string;
  /** Present when the key pair was generated here. */
  keys?: CryptoKeyPair;
}

/** Default lifetime of issued leaf certificates, as kubeadm: one year. */
export const LEAF_VALIDITY_DAYS = 365;

/**
 * Issues a leaf certificate (basicConstraints CA:false) for `commonName`/`organizations`,
 * signed by `ca`. Subject RDNs are written O first, then CN, as Go's crypto/x509 does.
 * NotAfter is capped at the CA's NotAfter.
 */
export async function issueCertificate(
  options: IssueCertificateOptions,
): Promise<IssuedCertificate> {
  const { ca } = options;
  if (!options.commonName) throw new Error("Cannot issue certificate: commonName is empty");
  let keys: CryptoKeyPair | undefined;
  let publicKey = options.publicKey;
  if (!publicKey) {
    keys = await generateKeyPair(options.keyType ?? (describeKey(ca.privateKey) as KeyType));
    publicKey = keys.publicKey;
  }
  const validity = resolveValidity(options, LEAF_VALIDITY_DAYS);
  const notAfter = validity.notAfter > ca.cert.notAfter ? ca.cert.notAfter : validity.notAfter;
  const name: x509.JsonName = [];
  if (options.organizations?.length) name.push({ O: options.organizations });
  name.push({ CN: [options.commonName] });
  const usages = (options.keyUsages ?? ["digitalSignature", "keyEncipherment"]).reduce(
    (bits, u) => bits | keyUsageFlag(u),
    0,
  );
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension(
      (options.extKeyUsages ?? ["clientAuth"]).map(extKeyUsageOid),
      false,
    ),
    new x509.BasicConstraintsExtension(false, undefined, true),
    await authorityKeyIdentifierFor(ca.cert),
  ];
  const san = subjectAltNameExtension(options);
  if (san) extensions.push(san);
  const cert = await x509.X509CertificateGenerator.create({
    subject: name,
    issuer: ca.cert.subjectName,
    publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: signingAlgorithm(ca.privateKey),
    notBefore: validity.notBefore,
    notAfter,
    extensions,
  });
  const result: IssuedCertificate = { cert, certPem: certificateToPem(cert) };
  if (keys) {
    result.keys = keys;
    result.keyPem = await encodePrivateKey(
      keys.privateKey,
      options.keyFormat ?? kubeadmKeyFormat(keys.privateKey),
    );
  }
  return result;
}

function keyUsageFlag(name: KeyUsageName): number {
  const flag = x509.KeyUsageFlags[name];
  if (typeof flag !== "number") throw new Error(`Unknown key usage "${name}"`);
  return flag;
}

function extKeyUsageOid(name: ExtKeyUsageName): string {
  if (/^\d+(\.\d+)+$/.test(name)) return name;
  const oid = (x509.ExtendedKeyUsage as Record<string, string>)[name];
  if (!oid) throw new Error(`Unknown extended key usage "${name}"`);
  return oid;
}
