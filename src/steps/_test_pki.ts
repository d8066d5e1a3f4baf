/**
 * The PKI of the step kind tests: the old and new CAs of a rotation, made once per test module
 * (RSA keys are slow to generate), leaf certificates they issue, and the forms the tests compare
 * certificates in.
 * @module
 */
import type { CaPair } from "../engine/ca_material.ts";
import {
  fingerprint,
  generateCa,
  type GeneratedCa,
  issueCertificate,
  type IssueCertificateOptions,
  parseCertificates,
} from "../pki/mod.ts";

/**
 * The CAs of a rotation: the old ones as kubeadm made them (RSA), the new ones as the plan's
 * default (ECDSA).
 */
export interface TestCas {
  readonly oldCluster: GeneratedCa;
  readonly newCluster: GeneratedCa;
  readonly oldFrontProxy: GeneratedCa;
  readonly newFrontProxy: GeneratedCa;
}

let cas: Promise<TestCas> | undefined;

/** The CAs, made once per test module. */
export function testCas(): Promise<TestCas> {
  cas ??= makeCas();
  return cas;
}

async function makeCas(): Promise<TestCas> {
  const [oldCluster, newCluster, oldFrontProxy, newFrontProxy] = await Promise.all([
    generateCa({ keyType: "rsa-2048" }),
    generateCa({ keyType: "ecdsa-p256" }),
    generateCa({ keyType: "rsa-2048", commonName: "front-proxy-ca" }),
    generateCa({ keyType: "ecdsa-p256", commonName: "front-proxy-ca" }),
  ]);
  return { oldCluster, newCluster, oldFrontProxy, newFrontProxy };
}

/** A leaf certificate and its key, as PEM (ECDSA unless the options say otherwise). */
export async function issueLeaf(
  options: IssueCertificateOptions,
): Promise<{ cert: string; key: string }> {
  const issued = await issueCertificate({ keyType: "ecdsa-p256", ...options });
  return { cert: issued.certPem, key: issued.keyPem! };
}

/** The CA pair a plan's CA material holds. */
export async function caPair(ca: GeneratedCa): Promise<CaPair> {
  return { certPem: ca.certPem, keyPem: ca.keyPem, fingerprint: await fingerprint(ca.cert) };
}

/** The SHA-256 fingerprints of the certificates of a PEM text, in order. */
export async function fingerprints(pem: string): Promise<string[]> {
  return await Promise.all(parseCertificates(pem).map((cert) => fingerprint(cert)));
}
