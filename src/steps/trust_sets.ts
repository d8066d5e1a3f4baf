/**
 * The CA certificates a file or object should hold in each phase: the bundle (old + new, built
 * by distribute-ca on the control-plane nodes) or the new CA only. Comparing the certificates a
 * file holds with a trust set is the PKI's (`sameCertificates`, `fingerprintsOf` in
 * src/pki/compare.ts).
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { CaName, TrustSet } from "../plan/ca.ts";
import { caPaths } from "../plan/node_paths.ts";
import { encodeBundle, fingerprint, fingerprintsOf, parseCertificates } from "../pki/mod.ts";

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

/** The old CA certificate(s) of `ca`: the bundle minus the new CA; undefined once gone. */
export async function oldCaPem(ctx: StepContext, ca: CaName): Promise<string | undefined> {
  const newPrints = await fingerprintsOf(ctx.cas.get(ca).certPem);
  const old = [];
  for (const cert of parseCertificates(await trustPem(ctx, ca, "bundle"))) {
    if (!newPrints.includes(await fingerprint(cert))) old.push(cert);
  }
  return old.length > 0 ? encodeBundle(old) : undefined;
}

/** The fingerprints of {@link oldCaPem}: empty once the old CA is gone. */
export async function oldCaFingerprints(ctx: StepContext, ca: CaName): Promise<string[]> {
  const pem = await oldCaPem(ctx, ca);
  return pem ? await fingerprintsOf(pem) : [];
}
