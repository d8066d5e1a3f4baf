/**
 * Chain verification: does a certificate chain to one of a set of trusted roots, and which.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import { toHex } from "./fingerprint.ts";
import { isCa } from "./ca.ts";
import { sameCertificate } from "./compare.ts";

/** Trust and time to verify against. */
export interface VerifyChainOptions {
  /** Trusted root certificates (e.g. the parsed CA bundle). */
  roots: Iterable<x509.X509Certificate>;
  /** Untrusted intermediates that may complete the chain. */
  intermediates?: Iterable<x509.X509Certificate>;
  /** The time at which every certificate must be valid. Default: now. */
  at?: Date;
}

/** The outcome of {@link verifyChain}. */
export type ChainVerification =
  | {
    ok: true;
    /** The trusted root the chain ends in. */
    root: x509.X509Certificate;
    /** The chain from the leaf to the root, both included. */
    chain: x509.X509Certificate[];
  }
  | { ok: false; reason: string };

const MAX_DEPTH = 8;

/**
 * Verifies that `leaf` chains to one of `roots`, possibly through `intermediates`: each link's
 * issuer name equals its parent's subject (DER), its signature verifies with the parent's
 * public key, every certificate is valid at `at`, and every parent is a CA.
 * A root with the same name as another (old and new CA are both "kubernetes") is only
 * accepted if the signature verifies with its key.
 */
export async function verifyChain(
  leaf: x509.X509Certificate,
  options: VerifyChainOptions,
): Promise<ChainVerification> {
  const at = options.at ?? new Date();
  const roots = [...options.roots];
  const intermediates = [...(options.intermediates ?? [])];
  const problems: string[] = [];

  const walk = async (
    cert: x509.X509Certificate,
    path: x509.X509Certificate[],
  ): Promise<ChainVerification | undefined> => {
    const dates = validityProblem(cert, at);
    if (dates) {
      problems.push(dates);
      return undefined;
    }
    const self = roots.find((r) => sameCertificate(r, cert));
    if (self) return { ok: true, root: self, chain: path };
    if (path.length > MAX_DEPTH) {
      problems.push(`chain is longer than ${MAX_DEPTH}`);
      return undefined;
    }
    for (const root of roots) {
      if (!(await issuedBy(cert, root))) continue;
      const problem = validityProblem(root, at) ??
        (isCa(root) ? undefined : `root "${root.subject}" is not a CA`);
      if (problem) {
        problems.push(problem);
        continue;
      }
      return { ok: true, root, chain: [...path, root] };
    }
    for (const parent of intermediates) {
      if (path.some((p) => sameCertificate(p, parent)) || !isCa(parent)) continue;
      if (!(await issuedBy(cert, parent))) continue;
      const found = await walk(parent, [...path, parent]);
      if (found) return found;
    }
    return undefined;
  };

  const found = await walk(leaf, [leaf]);
  if (found) return found;
  const reason = problems.length ? problems.join("; ") : `certificate "${leaf.subject}" ` +
    `(issuer "${leaf.issuer}") is not signed by any of the ${roots.length} trusted root(s)`;
  return { ok: false, reason };
}

/**
 * Says whether `cert` was issued by `ca`: `cert`'s issuer name equals `ca`'s subject and
 * `cert`'s signature verifies with `ca`'s public key. Dates are not checked.
 */
export async function issuedBy(
  cert: x509.X509Certificate,
  ca: x509.X509Certificate,
): Promise<boolean> {
  if (toHex(cert.issuerName.toArrayBuffer()) !== toHex(ca.subjectName.toArrayBuffer())) {
    return false;
  }
  try {
    return await cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function validityProblem(cert: x509.X509Certificate, at: Date): string | undefined {
  if (at < cert.notBefore) {
    return `certificate "${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`;
  }
  if (at > cert.notAfter) {
    return `certificate "${cert.subject}" expired at ${cert.notAfter.toISOString()}`;
  }
  return undefined;
}
