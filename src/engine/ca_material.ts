/**
 * The new CA material a rotation installs: one certificate and key per rotating CA, the same
 * on every run of the same rotation.
 * @module
 */

/** A CA certificate and its private key, as PEM. The key is never logged or rendered. */
export interface CaPair {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 fingerprint of the certificate (hex). */
  readonly fingerprint: string;
}

/** The new CA of each CA the plan rotates, by the plan's CA name (`cluster`, `frontProxy`). */
export interface CaMaterial {
  /** The new CA named `ca`; an error when the plan does not rotate it. */
  get(ca: string): CaPair;
  /** Fingerprints of every new CA, by name: what the progress record keeps. */
  fingerprints(): Record<string, string>;
}

/** CA material held in memory. */
export function caMaterialOf(pairs: Readonly<Record<string, CaPair>>): CaMaterial {
  return {
    get(ca) {
      const pair = pairs[ca];
      if (!pair) throw new Error(`Cannot use the new CA "${ca}": the plan does not rotate it`);
      return pair;
    },
    fingerprints: () =>
      Object.fromEntries(Object.entries(pairs).map(([name, pair]) => [name, pair.fingerprint])),
  };
}
