/**
 * Validity windows for issued certificates.
 * @module
 */
import "./crypto_provider.ts";

/** How far NotBefore is set in the past, to tolerate clock skew between nodes (as kubeadm). */
export const BACKDATE_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long an issued certificate is valid: explicit dates, or a number of days. */
export interface ValidityOptions {
  /** Start of validity. Default: now minus {@link BACKDATE_MS}. */
  notBefore?: Date;
  /** End of validity. Wins over `validityDays`. */
  notAfter?: Date;
  /** Days of validity from now, when `notAfter` is not given. */
  validityDays?: number;
  /** The current time (tests). Default: `new Date()`. */
  now?: Date;
}

/** A certificate's validity window. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * Resolves {@link ValidityOptions} to dates, `defaultDays` from now unless told otherwise.
 * @throws {Error} when the window is empty or `validityDays` is not a positive number.
 */
export function resolveValidity(options: ValidityOptions, defaultDays: number): Validity {
  const now = options.now ?? new Date();
  const days = options.validityDays ?? defaultDays;
  if (!(days > 0) || !Number.isFinite(days)) {
    throw new Error(`Invalid validity: validityDays must be a positive number, got ${days}`);
  }
  const notBefore = options.notBefore ?? new Date(now.getTime() - BACKDATE_MS);
  const notAfter = options.notAfter ?? new Date(now.getTime() + days * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new Error(
      `Invalid validity: notAfter ${notAfter.toISOString()} is not after notBefore ` +
        `${notBefore.toISOString()}`,
    );
  }
  return { notBefore, notAfter };
}
