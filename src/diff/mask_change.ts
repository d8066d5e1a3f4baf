/**
 * The masked view of one change: the only form in which a change's text is rendered.
 * @module
 */

import type { Change } from "../engine/change.ts";
import { maskAll, maskSecrets } from "./mask.ts";
import { maskSecretObject } from "./mask_secret_object.ts";

/** A change's before and after text, masked; absent where the change has none. */
export interface MaskedText {
  readonly before?: string;
  readonly after?: string;
}

/**
 * Masks the text of `change`: with {@linkcode maskAll} when it is `sensitive` (nothing but
 * masked lines and PEM armour remain), with {@linkcode maskSecretObject} when its target is a
 * Secret (whatever its text says its kind is), with {@linkcode maskSecrets} otherwise.
 */
export function maskChange(change: Change): MaskedText {
  const secret = change.target.type === "object" && change.target.kind === "Secret";
  const mask = (text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    if (change.sensitive) return maskAll(text);
    return secret ? maskSecretObject(text) : maskSecrets(text);
  };
  return { before: mask(change.before), after: mask(change.after) };
}
