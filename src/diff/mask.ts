/**
 * The masked views of a text that is about to be shown: {@linkcode maskSecrets} hides key
 * material and Secret values and keeps the rest; {@linkcode maskAll} keeps nothing but PEM
 * armour and markers. A masked value is replaced by the marker of `masked_value.ts`.
 * @module
 */

import { maskKeyMaterial } from "./_key_material.ts";
import { maskSecretData } from "./_secret_data.ts";
import { isMasked, maskedValue } from "./masked_value.ts";

/**
 * Masks every piece of key material in `text` and returns the rest unchanged:
 * - the body of every PEM private key block (RSA, EC, ENCRYPTED, PKCS#8, OPENSSH …), keeping
 *   its BEGIN and END lines (a block cut short is masked to the end of the text);
 * - every value under `data` and `stringData` of a Secret object in YAML or JSON text
 *   (keys are kept), and its `last-applied-configuration` annotation;
 * - kubeconfig `client-key-data` values, and `token`, `password`, `id-token`,
 *   `refresh-token`, `client-secret` values of a kubeconfig (`kind: Config`);
 * - any base64 string that decodes to a PEM private key.
 *
 * Masking is idempotent: masked text is returned unchanged.
 */
export function maskSecrets(text: string): string {
  return maskKeyMaterial(maskSecretData(text));
}

const PEM_ARMOUR = /^\s*-----(BEGIN|END) [A-Z0-9 ]+-----\s*$/;

/**
 * The view of a sensitive text: {@linkcode maskSecrets} first, then every run of lines that is
 * not a PEM BEGIN/END line or a marker is replaced by one marker, so nothing but masked lines
 * and PEM armour remains.
 */
export function maskAll(text: string): string {
  const lines = maskSecrets(text).split("\n");
  const trailingNewline = lines.at(-1) === "";
  if (trailingNewline) lines.pop();
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const single = run.length === 1 && isMasked(run[0]);
    out.push(single ? run[0] : maskedValue(run.join("\n")));
    run = [];
  };
  for (const line of lines) {
    if (PEM_ARMOUR.test(line)) {
      flush();
      out.push(line);
    } else {
      run.push(line);
    }
  }
  flush();
  return out.join("\n") + (trailingNewline ? "\n" : "");
}
