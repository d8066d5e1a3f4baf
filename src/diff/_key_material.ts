/**
 * Masking of key material written anywhere in a text: the body of PEM private key blocks,
 * kubeconfig credentials, and base64 that decodes to a PEM private key. Whether a text holds a
 * private key is the PKI's {@linkcode containsPrivateKey}; this file only finds where.
 * @module
 */

import { containsPrivateKey } from "../pki/pem.ts";
import { isMasked, MASKED_PATTERN, maskedValue } from "./masked_value.ts";

/**
 * Masks, in this order, the body of every PEM private key block (keeping its BEGIN and END
 * lines), kubeconfig `client-key-data` values and, in a kubeconfig (`kind: Config`), its
 * `token`, `password`, `id-token`, `refresh-token` and `client-secret` values, and any base64
 * string that decodes to a PEM private key. Idempotent.
 */
export function maskKeyMaterial(text: string): string {
  let masked = maskPemPrivateKeys(text);
  masked = maskKubeconfigCredentials(masked);
  masked = maskBase64PrivateKeys(masked);
  return masked;
}

// Locates the BEGIN line of a private key block and captures its label's prefix, to find the
// matching END; only consulted once containsPrivateKey has said the text holds a key (every
// line it matches, containsPrivateKey matches too).
const PEM_PRIVATE_KEY_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-{5}/g;
// Separators kept around a masked body: a real newline plus indentation, or an escaped `\n`
// (a key inside a JSON string).
const LEADING_SEPARATOR = /^(?:\r?\n[ \t]*|(?:\\r)?\\n|[ \t]*)/;
const TRAILING_SEPARATOR = /(?:\r?\n[ \t]*|(?:\\r)?\\n|[ \t]*)$/;

// Masks the body of every private key block, keeping BEGIN and END. A block whose END (with
// the same label) never comes, as in a truncated file, is masked to the end of the text.
function maskPemPrivateKeys(text: string): string {
  if (!containsPrivateKey(text)) return text;
  const begin = new RegExp(PEM_PRIVATE_KEY_BEGIN.source, "g");
  let out = "";
  let pos = 0;
  for (let match = begin.exec(text); match !== null; match = begin.exec(text)) {
    const bodyStart = match.index + match[0].length;
    const endIndex = text.indexOf(`-----END ${match[1]}PRIVATE KEY${"-".repeat(5)}`, bodyStart);
    const bodyEnd = endIndex < 0 ? text.length : endIndex;
    out += text.slice(pos, bodyStart) + maskPemBody(text.slice(bodyStart, bodyEnd));
    pos = bodyEnd;
    begin.lastIndex = bodyEnd;
  }
  return out + text.slice(pos);
}

function maskPemBody(body: string): string {
  const leading = body.match(LEADING_SEPARATOR)?.[0] ?? "";
  const rest = body.slice(leading.length);
  const trailing = rest.match(TRAILING_SEPARATOR)?.[0] ?? "";
  const content = rest.slice(0, rest.length - trailing.length);
  if (content === "" || isMasked(content)) return body;
  return `${leading}${maskedValue(content)}${trailing}`;
}

const KUBECONFIG_KEY_DATA = /(["']?client-key-data["']?[ \t]*:[ \t]*)(["']?)([A-Za-z0-9+/=_-]+)\2/g;
const KUBECONFIG_KIND = /^\s*["']?kind["']?\s*:\s*["']?Config["']?\s*,?\s*$/m;
const KUBECONFIG_CREDENTIAL =
  /^([ \t]*-?[ \t]*["']?(?:token|password|id-token|refresh-token|client-secret)["']?[ \t]*:[ \t]*)(\S.*?)([ \t]*,?[ \t]*)$/gm;

function maskKubeconfigCredentials(text: string): string {
  let masked = text.replace(
    KUBECONFIG_KEY_DATA,
    (_m, key: string, quote: string, value: string) =>
      `${key}${quote}${maskedValue(value)}${quote}`,
  );
  if (KUBECONFIG_KIND.test(masked)) {
    masked = masked.replace(
      KUBECONFIG_CREDENTIAL,
      (match, key: string, value: string, tail: string) => {
        if (MASKED_PATTERN.test(value)) return match;
        const quoted = /^(["']).*\1$/.test(value);
        const marker = maskedValue(quoted ? value.slice(1, -1) : value);
        return `${key}${quoted ? `"${marker}"` : marker}${tail}`;
      },
    );
  }
  return masked;
}

const BASE64_TOKEN = /[A-Za-z0-9+/_-]{40,}={0,2}/g;

function maskBase64PrivateKeys(text: string): string {
  return text.replace(BASE64_TOKEN, (token) => {
    return decodesToPrivateKey(token) ? maskedValue(token) : token;
  });
}

function decodesToPrivateKey(token: string): boolean {
  const standard = token.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4);
  try {
    return containsPrivateKey(atob(padded));
  } catch {
    return false;
  }
}
