/**
 * PKCS#10 certificate signing requests: read one (subject, groups, public key), and create one
 * as a kubelet does for its client certificate.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { generateKeyPair, type KeyType, signingAlgorithm } from "./key_type.ts";
import { encodePrivateKey, kubeadmKeyFormat, type PrivateKeyFormat } from "./private_key.ts";
import { decodePem, encodePem } from "./pem.ts";
import {
  subjectAltNameExtension,
  type SubjectAltNames,
  subjectAltNames,
} from "./subject_alt_names.ts";

/** A parsed, signature-checked CSR. */
export interface ParsedCsr extends SubjectAltNames {
  csr: x509.Pkcs10CertificateRequest;
  /** The subject as a string, e.g. `O=system:nodes, CN=system:node:worker-1`. */
  subject: string;
  /** The subject CN (the Kubernetes user name), or "" when absent. */
  commonName: string;
  /** The subject O values (the Kubernetes groups). */
  organizations: string[];
  /** The requested public key. */
  publicKey: x509.PublicKey;
}

/**
 * Parses a `CERTIFICATE REQUEST` PEM and checks its self-signature.
 * @throws {Error} when there is no CSR block, it does not parse, or its signature is invalid.
 */
export async function parseCsr(pem: string, source = "CSR"): Promise<ParsedCsr> {
  const block = decodePem(pem, source).find((b) =>
    b.label === "CERTIFICATE REQUEST" || b.label === "NEW CERTIFICATE REQUEST"
  );
  if (!block) throw new Error(`Cannot parse ${source}: no CERTIFICATE REQUEST block found`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(block.der);
  } catch (err) {
    throw new Error(
      `Cannot parse ${source}: not a PKCS#10 request (${
        err instanceof Error ? err.message : String(err)
      })`,
    );
  }
  if (!(await csr.verify().catch(() => false))) {
    throw new Error(`Cannot parse ${source}: its signature does not verify with its own key`);
  }
  return {
    csr,
    subject: csr.subject,
    commonName: csr.subjectName.getField("CN")[0] ?? "",
    organizations: csr.subjectName.getField("O"),
    publicKey: csr.publicKey,
    ...subjectAltNames(csr),
  };
}

/** What to request. */
export interface CreateCsrOptions extends Partial<SubjectAltNames> {
  commonName: string;
  organizations?: string[];
  /** The key pair to request for. Default: a new key of `keyType`. */
  keys?: CryptoKeyPair;
  /** Type of a generated key. Default `"ecdsa-p256"`, as the kubelet. */
  keyType?: KeyType;
  /** Encoding of the returned key. Default: SEC1 for ECDSA, PKCS#1 for RSA. */
  keyFormat?: PrivateKeyFormat;
}

/** A new CSR and its key. */
export interface CreatedCsr {
  csr: x509.Pkcs10CertificateRequest;
  csrPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
}

/** Creates a CSR for `commonName`/`organizations` (subject written O first, then CN). */
export async function createCsr(options: CreateCsrOptions): Promise<CreatedCsr> {
  if (!options.commonName) throw new Error("Cannot create CSR: commonName is empty");
  const keys = options.keys ?? await generateKeyPair(options.keyType ?? "ecdsa-p256");
  const name: x509.JsonName = [];
  if (options.organizations?.length) name.push({ O: options.organizations });
  name.push({ CN: [options.commonName] });
  const san = subjectAltNameExtension(options);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: san ? [san] : [],
  });
  return {
    csr,
    csrPem: encodePem("CERTIFICATE REQUEST", csr.rawData),
    keyPem: await encodePrivateKey(
      keys.privateKey,
      options.keyFormat ?? kubeadmKeyFormat(keys.privateKey),
    ),
    keys,
  };
}

/**
 * Creates the CSR a kubelet sends for its client certificate: CN `system:node:<nodeName>`,
 * O `system:nodes`, ECDSA P-256 key (unless `keys` is given).
 */
export async function createNodeClientCsr(
  nodeName: string,
  keys?: CryptoKeyPair,
): Promise<CreatedCsr> {
  if (!nodeName) throw new Error("Cannot create node CSR: node name is empty");
  return await createCsr({
    commonName: `system:node:${nodeName}`,
    organizations: ["system:nodes"],
    keys,
  });
}
