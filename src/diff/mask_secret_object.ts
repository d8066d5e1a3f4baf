/**
 * The masked view of a text known to be a Secret object, whatever its text says its kind is.
 * @module
 */

import { maskSecretData } from "./_secret_data.ts";
import { maskAll, maskSecrets } from "./mask.ts";

/**
 * Masks text known to be a Secret object, whether or not it says `kind: Secret`: the values
 * under `data` and `stringData` of its top-level object are masked as
 * {@linkcode maskSecrets} would, then the rest as {@linkcode maskSecrets} does. Text that cannot
 * be read as YAML is masked whole with {@linkcode maskAll}.
 */
export function maskSecretObject(text: string): string {
  const masked = maskSecretData(text, true);
  return masked === undefined ? maskAll(text) : maskSecrets(masked);
}
