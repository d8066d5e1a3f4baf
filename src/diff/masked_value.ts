/**
 * The marker that stands for a masked secret: `(masked, sha256:<8 hex>)`, the start of an
 * HMAC-SHA256 of the secret keyed with a salt drawn when the process starts. Within one run a
 * diff line still differs when the secret differs; the marker is no digest anyone can compute
 * from a guessed key (nor compare across runs), so it tells nothing of the secret itself.
 * @module
 */

import { createHmac } from "node:crypto";

/** Matches a marker written by {@linkcode maskedValue}. */
export const MASKED_PATTERN = /\(masked, sha256:[0-9a-f]{8}\)/;

const MASKED_ONLY = new RegExp(`^\\s*${MASKED_PATTERN.source}\\s*$`);

/** This process's salt: markers are comparable within a run and nowhere else. */
const SALT = crypto.getRandomValues(new Uint8Array(32));

/**
 * The marker that stands for a secret value: `(masked, sha256:<first 8 hex of its salted
 * HMAC-SHA256>)`. The same secret gives the same marker within this process.
 */
export function maskedValue(secret: string): string {
  const digest = createHmac("sha256", SALT).update(secret, "utf8").digest("hex");
  return `(masked, sha256:${digest.slice(0, 8)})`;
}

/** Whether `text` is a single marker and nothing else but surrounding whitespace. */
export function isMasked(text: string): boolean {
  return MASKED_ONLY.test(text);
}
