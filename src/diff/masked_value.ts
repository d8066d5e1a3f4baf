/**
 * The marker that stands for a masked secret: `(masked, sha256:<8 hex>)`. A diff line still
 * differs when the secret differs, but nothing of the secret itself is shown.
 * @module
 */

import { createHash } from "node:crypto";

/** Matches a marker written by {@linkcode maskedValue}. */
export const MASKED_PATTERN = /\(masked, sha256:[0-9a-f]{8}\)/;

const MASKED_ONLY = new RegExp(`^\\s*${MASKED_PATTERN.source}\\s*$`);

/** The marker that stands for a secret value: `(masked, sha256:<first 8 hex of its digest>)`. */
export function maskedValue(secret: string): string {
  const digest = createHash("sha256").update(secret, "utf8").digest("hex");
  return `(masked, sha256:${digest.slice(0, 8)})`;
}

/** Whether `text` is a single marker and nothing else but surrounding whitespace. */
export function isMasked(text: string): boolean {
  return MASKED_ONLY.test(text);
}
