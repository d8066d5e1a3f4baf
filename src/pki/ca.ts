/**
 * Certificate authorities: generate a new self-signed CA, and load an existing one (certificate
 * plus matching key) to sign with.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { generateKeyPair, type KeyType, signingAlgorithm } from "./key_type.ts";
import {
  encodePrivateKey,
  kubeadmKeyFormat,
  parsePrivateKey,
  type PrivateKeyFormat,
} from "./private_key.ts";
import { certificateToPem, parseCertificate } from "./bundle.ts";
import { assertKeyMatchesCertificate } from "./key_match.ts";
import { resolveValidity, type ValidityOptions } from "./validity.ts";

/** A CA able to sign: its certificate and private key. */
export interface CertificateAuthority {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** Options for {@link generateCa}. */
export interface GenerateCaOptions extends ValidityOptions {
  /** Subject common name. Default `"kubernetes"` (kubeadm's cluster CA; `front-proxy-ca`, `etcd-ca` for the others). */
  commonName?: string;
  /** Key type. Default `"rsa-2048"`, kubeadm's default. */
  keyType?: KeyType;
  /** Encoding of `keyPem`. Default: kubeadm's (PKCS#1 for RSA, SEC1 for ECDSA). */
  keyFormat?: PrivateKeyFormat;
}

/** A freshly generated CA. */
export interface GeneratedCa extends CertificateAuthority {
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
}

/** Default CA lifetime, as kubeadm: ten years. */
export const CA_VALIDITY_DAYS = 3650;

/**
 * Generates a self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign,
 * cRLSign and digitalSignature (critical), and a subjectKeyIdentifier. Valid for
 * {@link CA_VALIDITY_DAYS} days unless told otherwise.
 */
export async function generateCa(options: GenerateCaOptions = {}): Promise<GeneratedCa> {
  const commonName = options.commonName ?? "kubernetes";
  const keys = await generateKeyPair(options.keyType ?? "rsa-2048");
  const { notBefore, notAfter } = resolveValidity(options, CA_VALIDITY_DAYS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }],
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = await encodePrivateKey(
    keys.privateKey,
    options.keyFormat ?? kubeadmKeyFormat(keys.privateKey),
  );
  return {
    cert,
    privateKey: keys.privateKey,
    certPem: certificateToPem(cert),
    keyPem,
    keys,
  };
}

/**
 * Loads a CA to sign with from its certificate and key PEM (any key format
 * {@link parsePrivateKey} reads).
 * @param source names the pair in error messages, e.g. `"/etc/kubernetes/pki/ca"`.
 * @throws {Error} when the certificate is not a CA or the key does not match it.
 */
export async function loadCa(
  certPem: string,
  keyPem: string,
  source = "CA",
): Promise<CertificateAuthority> {
  const cert = parseCertificate(certPem, `${source} certificate`);
  if (!isCa(cert)) {
    throw new Error(`Cannot load ${source}: certificate "${cert.subject}" is not a CA`);
  }
  const { privateKey } = await parsePrivateKey(keyPem, `${source} key`);
  await assertKeyMatchesCertificate(privateKey, cert, `of ${source}`);
  return { cert, privateKey };
}

/** Says whether a certificate carries basicConstraints CA:true. */
export function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}
