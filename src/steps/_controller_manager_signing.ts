/**
 * Private to set-component-flags: the kube-controller-manager's signing flags. It signs with
 * either the pair `--cluster-signing-{cert,key}-file` (every signer) or per-signer pairs
 * `--cluster-signing-<signer>-{cert,key}-file`, never both (it refuses to start with both, or with
 * half a pair; with any per-signer pair set, a signer without one does not run). A step that sets
 * the single pair on a controller-manager configured per signer switches each per-signer pair
 * instead — the files the plan names are what every signer of the rotated CA signs with.
 * @module
 */

/** The single pair of signing flags, used by every signer unless per-signer pairs are set. */
export const SIGNING_PAIR = {
  cert: "--cluster-signing-cert-file",
  key: "--cluster-signing-key-file",
} as const;

/** The signers with a pair of flags of their own. */
export const SIGNERS = [
  "kubelet-serving",
  "kubelet-client",
  "kube-apiserver-client",
  "legacy-unknown",
] as const;

/** A signer with flags of its own. */
export type Signer = typeof SIGNERS[number];

/** The per-signer pair of `signer`. */
export function signerPair(signer: Signer): { cert: string; key: string } {
  return {
    cert: `--cluster-signing-${signer}-cert-file`,
    key: `--cluster-signing-${signer}-key-file`,
  };
}

/**
 * The flags to write for `wanted` into a controller-manager whose manifest sets `present`:
 * `wanted` itself, except that a single signing pair becomes each per-signer pair the manifest
 * sets. Refuses what the controller-manager would refuse to start with (both kinds of pair, half
 * a pair), and per-signer pairs that sign with different files: the plan rotates one CA, and
 * which signer is whose the step cannot know (name each per-signer flag in the step then).
 * @param where names the manifest in errors, e.g. `cp-1:/etc/kubernetes/manifests/…`.
 * @throws {Error} naming the flags.
 */
export function signingFlagsFor(
  present: ReadonlyMap<string, string>,
  wanted: Readonly<Record<string, string>>,
  where: string,
): Record<string, string> {
  const result = { ...wanted };
  const after = new Map([...present, ...Object.entries(wanted)]);
  const perSigner = SIGNERS.filter((signer) => {
    const pair = signerPair(signer);
    return present.has(pair.cert) || present.has(pair.key) || pair.cert in wanted ||
      pair.key in wanted;
  });
  if (perSigner.length === 0) return result;
  const setsSingle = (flags: ReadonlyMap<string, string>) =>
    flags.has(SIGNING_PAIR.cert) || flags.has(SIGNING_PAIR.key);
  if (setsSingle(present)) {
    throw new Error(
      `${where} sets both ${SIGNING_PAIR.cert}/${SIGNING_PAIR.key} and per-signer ` +
        `${perSigner.map((s) => signerPair(s).cert).join(", ")}: the controller-manager refuses ` +
        "to start with both; keep one kind",
    );
  }
  for (const signer of perSigner) {
    const pair = signerPair(signer);
    if (after.has(pair.cert) !== after.has(pair.key)) {
      throw new Error(
        `${where} sets ${after.has(pair.cert) ? pair.cert : pair.key} without ` +
          `${
            after.has(pair.cert) ? pair.key : pair.cert
          }: the controller-manager refuses half a pair`,
      );
    }
  }
  if (!setsSingle(new Map(Object.entries(wanted)))) return result;
  const files = new Set(
    perSigner.map((s) => `${present.get(signerPair(s).cert)} + ${present.get(signerPair(s).key)}`),
  );
  if (files.size > 1) {
    throw new Error(
      `${where} signs with more than one CA (${[...files].join("; ")} by signer): this step ` +
        `sets ${SIGNING_PAIR.cert}/${SIGNING_PAIR.key} for one; name the per-signer flags of ` +
        "the signers it is for in the step's flags instead",
    );
  }
  delete result[SIGNING_PAIR.cert];
  delete result[SIGNING_PAIR.key];
  for (const signer of perSigner) {
    const pair = signerPair(signer);
    if (wanted[SIGNING_PAIR.cert] !== undefined) result[pair.cert] = wanted[SIGNING_PAIR.cert];
    if (wanted[SIGNING_PAIR.key] !== undefined) result[pair.key] = wanted[SIGNING_PAIR.key];
  }
  return result;
}
