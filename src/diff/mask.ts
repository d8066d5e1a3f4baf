/**
 * Masking of key material in text that is about to be shown: PEM private keys, kubeconfig
 * credentials, the values of Secret objects, and base64 that decodes to a private key.
 *
 * A masked value is replaced by `(masked, sha256:<8 hex>)`: a diff line still differs when
 * the secret differs, but nothing of the secret itself is shown.
 * @module
 */

import { createHash } from "node:crypto";
import { containsPrivateKey } from "../pki/pem.ts";
import { isMap, isScalar, parseAllDocuments, visit } from "yaml";
import type { Node as YamlNode, Scalar } from "yaml";

/** Matches a marker written by {@linkcode maskedValue}. */
export const MASKED_PATTERN = /\(masked, sha256:[0-9a-f]{8}\)/;

const MASKED_ONLY = new RegExp(`^\\s*${MASKED_PATTERN.source}\\s*$`);

/** The marker that stands for a secret value: `(masked, sha256:<first 8 hex of its digest>)`. */
export function maskedValue(secret: string): string {
  const digest = createHash("sha256").update(secret, "utf8").digest("hex");
  return `(masked, sha256:${digest.slice(0, 8)})`;
}

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
  let masked = maskSecretObjects(text);
  masked = maskPemPrivateKeys(masked);
  masked = maskKubeconfigCredentials(masked);
  masked = maskBase64PrivateKeys(masked);
  return masked;
}

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
    const single = run.length === 1 && MASKED_ONLY.test(run[0]);
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

const PEM_ARMOUR = /^\s*-----(BEGIN|END) [A-Z0-9 ]+-----\s*$/;

const PEM_PRIVATE_KEY_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-{5}/g;
// Separators kept around a masked body: a real newline plus indentation, or an escaped `\n`
// (a key inside a JSON string).
const LEADING_SEPARATOR = /^(?:\r?\n[ \t]*|(?:\\r)?\\n|[ \t]*)/;
const TRAILING_SEPARATOR = /(?:\r?\n[ \t]*|(?:\\r)?\\n|[ \t]*)$/;

// Masks the body of every private key block, keeping BEGIN and END. A block whose END (with
// the same label) never comes, as in a truncated file, is masked to the end of the text.
function maskPemPrivateKeys(text: string): string {
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
  if (content === "" || MASKED_ONLY.test(content)) return body;
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

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const SECRET_KIND = /^\s*["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*$/m;

/**
 * Masks text known to be a Secret object, whether or not it says `kind: Secret`: the values
 * under `data` and `stringData` of its top-level object are masked as
 * {@linkcode maskSecrets} would, then the rest as {@linkcode maskSecrets} does. Text that cannot
 * be read as YAML is masked whole with {@linkcode maskAll}.
 */
export function maskSecretObject(text: string): string {
  const masked = maskSecretObjects(text, true);
  return masked === undefined ? maskAll(text) : maskSecrets(masked);
}

// Replaces, in place, the value of every data/stringData entry of every Secret (also inside a
// List), so the rest of the text keeps its exact formatting. With `force`, each document's
// top-level object is taken for a Secret, and text that does not parse gives `undefined`.
function maskSecretObjects(text: string, force: true): string | undefined;
function maskSecretObjects(text: string, force?: false): string;
function maskSecretObjects(text: string, force = false): string | undefined {
  if (!force && !/Secret/.test(text)) return text;
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((doc) => doc.errors.length > 0)) {
    if (force) return undefined;
    return SECRET_KIND.test(text) ? maskSecretLines(text) : text;
  }
  const ranges: Array<{ start: number; end: number; replacement: string }> = [];
  const add = (node: YamlNode | null | undefined) => {
    if (!node?.range) return;
    const [start, end] = node.range;
    const source = text.slice(start, end);
    const value = isScalar(node) ? String((node as Scalar).value ?? "") : source;
    if (isScalar(node) && MASKED_ONLY.test(value)) return;
    const marker = maskedValue(value);
    const type = isScalar(node) ? (node as Scalar).type : undefined;
    const quote = type === "QUOTE_DOUBLE" ? '"' : type === "QUOTE_SINGLE" ? "'" : "";
    const newline = source.endsWith("\n") ? "\n" : "";
    ranges.push({ start, end, replacement: `${quote}${marker}${quote}${newline}` });
  };
  for (const doc of list) {
    visit(doc, {
      Map(_key, map) {
        if (map.get("kind") !== "Secret" && !(force && map === doc.contents)) return;
        for (const field of ["data", "stringData"]) {
          const values = map.get(field, true);
          if (isMap(values)) {
            for (const pair of values.items) add(pair.value as YamlNode | null);
          } else if (values) {
            add(values as YamlNode);
          }
        }
        const metadata = map.get("metadata", true);
        const annotations = isMap(metadata) ? metadata.get("annotations", true) : undefined;
        if (isMap(annotations)) {
          for (const pair of annotations.items) {
            const key = isScalar(pair.key) ? pair.key.value : pair.key;
            if (key === LAST_APPLIED) add(pair.value as YamlNode | null);
          }
        }
      },
    });
  }
  ranges.sort((a, b) => b.start - a.start);
  let masked = text;
  let limit = text.length;
  for (const { start, end, replacement } of ranges) {
    if (end > limit) continue; // inside a range already masked
    masked = masked.slice(0, start) + replacement + masked.slice(end);
    limit = start;
  }
  return masked;
}

// For a Secret that does not parse: mask every value (and continuation line) indented under a
// `data:` or `stringData:` line, and any flow value written on that line itself.
function maskSecretLines(text: string): string {
  const lines = text.split("\n");
  let blockIndent = -1;
  return lines.map((line) => {
    const indent = line.match(/^\s*/)?.[0] ?? "";
    if (blockIndent >= 0) {
      if (line.trim() === "") return line;
      if (indent.length > blockIndent) {
        const entry = line.match(/^(\s*["']?[^\s:"']+["']?\s*:[ \t]*)(.*)$/);
        if (entry) return entry[2] ? `${entry[1]}${maskedValue(entry[2])}` : line;
        return `${indent}${maskedValue(line.trim())}`;
      }
      blockIndent = -1;
    }
    const header = line.match(
      /^(\s*["']?(?:data|stringData|[^:]*last-applied-configuration)["']?\s*:[ \t]*)(.*)$/,
    );
    if (!header) return line;
    if (header[2].trim() === "" || /^[|>]/.test(header[2].trim())) {
      blockIndent = indent.length;
      return line;
    }
    return `${header[1]}${maskedValue(header[2])}`;
  }).join("\n");
}
