/**
 * Key material out of a text that is to be kept somewhere readable (the node inventory): every
 * PEM private key block becomes a stand-in (src/pki/key_stand_in.ts: its hash, type and public
 * key), base64 that decodes to a PEM private key (a kubeconfig's `client-key-data`) becomes the
 * base64 of the stripped text, and a kubeconfig's `token` and `password` values become a marker
 * with their hash. The rest of the text is kept as it is.
 * @module
 */
import { containsPrivateKey, decodePem } from "./pem.ts";
import { parsePrivateKey } from "./private_key.ts";
import { encodeStandIn, type StandInFacts } from "./key_stand_in.ts";
import { describeKey } from "./key_type.ts";

/** A stripped text, and the hash of each secret taken out of it. */
export interface StrippedText {
  readonly text: string;
  /** SHA-256 (hex) of each key (its DER) or credential taken out, in order. */
  readonly removed: readonly string[];
}

const PEM_PRIVATE_KEY_BLOCK =
  /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY\2-----|$)/g;
const BASE64_TOKEN = /[A-Za-z0-9+/_-]{40,}={0,2}/g;
const KUBECONFIG_KIND = /^\s*["']?kind["']?\s*:\s*["']?Config["']?\s*,?\s*$/m;
const KUBECONFIG_CREDENTIAL =
  /^([ \t]*-?[ \t]*["']?(?:token|password)["']?[ \t]*:[ \t]*)(\S.*?)([ \t]*,?[ \t]*)$/gm;

/** The marker that replaces a kubeconfig credential: its hash only. */
export const STRIPPED_CREDENTIAL_PREFIX = "ca-rotator-stripped-sha256-";

/**
 * `text` with every private key replaced by its stand-in and every kubeconfig credential by a
 * marker (see the module's comment).
 * @throws {Error} naming `source` when key material would survive (never expected: a guard).
 */
export async function stripPrivateKeys(text: string, source: string): Promise<StrippedText> {
  const removed: string[] = [];
  let out = await replaceAsync(text, PEM_PRIVATE_KEY_BLOCK, async (block) => {
    const facts = await standInFactsOf(block);
    removed.push(facts.sha256);
    return encodeStandIn(facts).trimEnd();
  });
  out = await replaceAsync(out, BASE64_TOKEN, async (token) => {
    const decoded = decodeBase64Text(token);
    if (decoded === undefined || !containsPrivateKey(decoded)) return token;
    const inner = await stripPrivateKeys(decoded, source);
    removed.push(...inner.removed);
    return btoa(inner.text);
  });
  if (KUBECONFIG_KIND.test(out)) {
    out = await replaceAsync(out, KUBECONFIG_CREDENTIAL, async (line) => {
      const [, key, value, tail] = new RegExp(KUBECONFIG_CREDENTIAL.source, "m").exec(line)!;
      if (value.includes(STRIPPED_CREDENTIAL_PREFIX)) return line;
      const hash = await sha256Hex(new TextEncoder().encode(value));
      removed.push(hash);
      return `${key}${STRIPPED_CREDENTIAL_PREFIX}${hash}${tail}`;
    });
  }
  assertNoPrivateKey(out, source);
  return { text: out, removed };
}

/**
 * Refuses a text that still holds a private key: a PEM private key block, or base64 that
 * decodes to one.
 * @throws {Error} `<source> still holds a private key …`.
 */
export function assertNoPrivateKey(text: string, source: string): void {
  const base64Key = [...text.matchAll(BASE64_TOKEN)].some((match) => {
    const decoded = decodeBase64Text(match[0]);
    return decoded !== undefined && containsPrivateKey(decoded);
  });
  if (containsPrivateKey(text) || base64Key) {
    throw new Error(`${source} still holds a private key: refusing to keep it`);
  }
}

/** SHA-256 of bytes, in hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function standInFactsOf(block: string): Promise<StandInFacts> {
  let der: Uint8Array | undefined;
  try {
    der = decodePem(block)[0]?.der;
  } catch {
    der = undefined;
  }
  const sha256 = await sha256Hex(der ?? new TextEncoder().encode(block));
  try {
    const { publicKey, format } = await parsePrivateKey(block);
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
    return {
      sha256,
      type: describeKey(publicKey),
      format,
      spki: btoa(String.fromCharCode(...spki)),
    };
  } catch {
    return { sha256, type: "unreadable" };
  }
}

function decodeBase64Text(token: string): string | undefined {
  const standard = token.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4);
  try {
    return atob(padded);
  } catch {
    return undefined;
  }
}

async function replaceAsync(
  text: string,
  pattern: RegExp,
  replace: (match: string) => Promise<string>,
): Promise<string> {
  const matches = [...text.matchAll(new RegExp(pattern.source, pattern.flags))];
  if (matches.length === 0) return text;
  const replacements = await Promise.all(matches.map((match) => replace(match[0])));
  let out = "";
  let pos = 0;
  matches.forEach((match, index) => {
    out += text.slice(pos, match.index) + replacements[index];
    pos = match.index! + match[0].length;
  });
  return out + text.slice(pos);
}
