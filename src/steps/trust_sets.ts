/**
 * The CA certificates a file or object should hold in each phase: the bundle (old + new, built
 * by distribute-ca on the control-plane nodes) or the new CA only.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { CaName, TrustSet } from "../plan/ca.ts";
import { caPaths } from "../plan/node_paths.ts";
import { encodeBundle, fingerprint, parseCertificates } from "../pki/mod.ts";

/** The PEM text a `bundle` or `new` trust set stands for. */
export async function trustPem(ctx: StepContext, ca: CaName, set: TrustSet): Promise<string> {
  const newCa = ctx.cas.get(ca).certPem;
  if (set === "new") return encodeBundle(parseCertificates(newCa));
  const paths = caPaths(ctx.layout, ca);
  const first = ctx.controlPlane[0];
  const bundle = await first.readFile(paths.bundle);
  if (bundle !== undefined) return bundle;
  const current = await first.readFile(paths.cert);
  if (current === undefined) {
    throw new Error(`${first.name}: ${paths.cert} is missing: cannot build the ${ca} CA bundle`);
  }
  return encodeBundle([...parseCertificates(current), ...parseCertificates(newCa)]);
}

/** The sorted SHA-256 fingerprints of the certificates in a PEM text. */
export async function fingerprintsOf(pem: string): Promise<string[]> {
  const prints = await Promise.all(parseCertificates(pem).map((cert) => fingerprint(cert)));
  return [...new Set(prints)].sort();
}

/** True when two PEM texts hold exactly the same certificates (order and duplicates aside). */
export async function sameCertificates(a: string, b: string): Promise<boolean> {
  return JSON.stringify(await fingerprintsOf(a)) === JSON.stringify(await fingerprintsOf(b));
}
