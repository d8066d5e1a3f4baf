/**
 * Re-issuing a leaf certificate with a new CA, as step 7 of the rotation does for
 * `apiserver.crt`, `apiserver-kubelet-client.crt`, `front-proxy-client.crt` and the client
 * certificates inside kubeconfigs.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import {
  describeKey,
  generateKeyPair,
  KEY_TYPES,
  type KeyType,
  signingAlgorithm,
} from "./key_type.ts";
import {
  encodePrivateKey,
  kubeadmKeyFormat,
  parsePrivateKey,
  type PrivateKeyFormat,
} from "./private_key.ts";
import { certificateToPem } from "./bundle.ts";
import { type CertificateAuthority, isCa } from "./ca.ts";
import { assertKeyMatchesCertificate } from "./key_match.ts";
import { authorityKeyIdentifierFor } from "./key_identifier.ts";
import { LEAF_VALIDITY_DAYS } from "./issue_certificate.ts";
import { issuedBy } from "./verify_chain.ts";
import { standInPublicKey } from "./key_stand_in.ts";
import { resolveValidity, type ValidityOptions } from "./validity.ts";

/** What to re-issue, and with what. */
export interface ReissueLeafOptions extends ValidityOptions {
  /** The certificate to re-issue. */
  cert: x509.X509Certificate;
  /**
   * The existing leaf's private key PEM (PKCS#1, SEC1 or PKCS#8). Required unless `newKey`;
   * it must match `cert`. The re-issued certificate keeps this key (as `kubeadm certs renew`).
   */
  keyPem?: string;
  /** The new signing CA. */
  ca: CertificateAuthority;
  /**
   * Generate a new key pair instead of keeping the old one: `true` for the same type as the
   * old certificate's key, or a {@link KeyType}.
   */
  newKey?: boolean | KeyType;
  /**
   * Encoding of a new key. Default: the old key's format when `keyPem` is given, else
   * kubeadm's (PKCS#1 for RSA, SEC1 for ECDSA).
   */
  keyFormat?: PrivateKeyFormat;
  /** Names the leaf in error messages, e.g. `"/etc/kubernetes/pki/apiserver.crt"`. */
  source?: string;
}

/** The re-issued leaf. */
export interface ReissuedLeaf {
  cert: x509.X509Certificate;
  certPem: string;
  /** Present only when a new key was generated. */
  keyPem?: string;
}

const SKI = "2.5.29.14";
const AKI = "2.5.29.35";

/**
 * Re-issues `cert` under `ca`: same subject, same extensions (subjectAltName, keyUsage,
 * extendedKeyUsage, basicConstraints, any others) in the same order, a new random serial, the
 * new CA as issuer with its authorityKeyIdentifier, and a fresh validity window
 * ({@link LEAF_VALIDITY_DAYS} days by default, capped at the CA's NotAfter). A
 * subjectKeyIdentifier is recomputed if the old certificate had one.
 * @throws {Error} when `cert` is a CA, the key is missing or does not match `cert`.
 */
export async function reissueLeaf(options: ReissueLeafOptions): Promise<ReissuedLeaf> {
  const { cert, ca } = options;
  const source = options.source ?? `certificate "${cert.subject}"`;
  if (isCa(cert)) {
    throw new Error(`Cannot re-issue ${source}: it is a CA certificate, not a leaf`);
  }
  let publicKey: CryptoKey | x509.PublicKey;
  let keyPem: string | undefined;
  let oldFormat: PrivateKeyFormat | undefined;
  if (options.keyPem !== undefined) {
    const old = await parsePrivateKey(options.keyPem, `for ${source}`);
    await assertKeyMatchesCertificate(old.privateKey, cert, `for ${source}`);
    publicKey = old.publicKey;
    oldFormat = old.format;
  } else if (!options.newKey) {
    throw new Error(
      `Cannot re-issue ${source}: its private key is needed to keep the key pair ` +
        `(or ask for a new key)`,
    );
  } else {
    publicKey = cert.publicKey;
  }
  if (options.newKey) {
    const type = options.newKey === true ? await keyTypeOf(cert) : options.newKey;
    const keys = await generateKeyPair(type);
    publicKey = keys.publicKey;
    keyPem = await encodePrivateKey(
      keys.privateKey,
      options.keyFormat ?? oldFormat ?? kubeadmKeyFormat(keys.privateKey),
    );
  }

  const extensions: x509.Extension[] = [];
  let hasAki = false;
  for (const ext of cert.extensions) {
    if (ext.type === SKI) {
      extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey, ext.critical));
    } else if (ext.type === AKI) {
      extensions.push(await authorityKeyIdentifierFor(ca.cert));
      hasAki = true;
    } else {
      extensions.push(new x509.Extension(ext.rawData));
    }
  }
  if (!hasAki) extensions.push(await authorityKeyIdentifierFor(ca.cert));

  const validity = resolveValidity(options, LEAF_VALIDITY_DAYS);
  const reissued = await x509.X509CertificateGenerator.create({
    subject: cert.subjectName,
    issuer: ca.cert.subjectName,
    publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: signingAlgorithm(ca.privateKey),
    notBefore: validity.notBefore,
    notAfter: validity.notAfter > ca.cert.notAfter ? ca.cert.notAfter : validity.notAfter,
    extensions,
  });
  // A stand-in CA key (a read-only dry run, key_stand_in.ts) signs nothing the CA verifies.
  if (!standInPublicKey(ca.privateKey) && !(await issuedBy(reissued, ca.cert))) {
    throw new Error(`Re-issued ${source} does not verify against the new CA "${ca.cert.subject}"`);
  }
  const result: ReissuedLeaf = { cert: reissued, certPem: certificateToPem(reissued) };
  if (keyPem) result.keyPem = keyPem;
  return result;
}

async function keyTypeOf(cert: x509.X509Certificate): Promise<KeyType> {
  const key = await cert.publicKey.export();
  const type = describeKey(key);
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new Error(`Cannot generate a new key like the one of "${cert.subject}" (${type})`);
  }
  return type as KeyType;
}
