/**
 * Looking for private-key material in what a rotation emits (output, ConfigMaps, Events): the
 * forms a key can leak in — its PEM body or lines of it, base64 (standard and URL-safe, at every
 * alignment inside a longer base64 string) and hex of its DER, its private scalar, base64 of the
 * whole PEM file (a Secret's or kubeconfig's data) — and unsalted sha256 digests of any of these,
 * whole or as the 8-hex prefix a masked marker shows. Also PEM private-key armour whose body is
 * not masked.
 * @module
 */
import { createHash } from "node:crypto";
import { decodePem, parsePrivateKey } from "../../src/pki/mod.ts";

/** One form of one key to look for. */
export interface Needle {
  /** e.g. `ca-new.key: DER as base64`. */
  readonly label: string;
  /** The exact text that must not appear. */
  readonly value: string;
  /** Only as a whole hex token (a short digest prefix, as a masked marker would show it). */
  readonly token?: boolean;
}

/** One place a needle (or unmasked armour) was found. */
export interface Leak {
  /** Where: the name given to {@linkcode findLeaks}. */
  readonly where: string;
  readonly label: string;
  /** Offset in the text. */
  readonly at: number;
  /** For armour: what follows it, every base64 run replaced by its length (no key shown). */
  readonly next?: string;
}

/** The shortest base64 run looked for: 30 bytes of key, never a coincidence. */
const MIN_BASE64 = 40;

const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const toBase64Url = (base64: string) =>
  base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/**
 * The base64 runs of `bytes` as they appear inside any longer base64 string: for each of the
 * three alignments, the encoding of the bytes from the first whole group on, without the last
 * (partial) group. Longer than {@link MIN_BASE64} characters, or nothing.
 */
export function embeddedBase64(bytes: Uint8Array): string[] {
  const runs: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const skip = (3 - shift) % 3; // bytes before the first group that starts at a byte of ours
    const whole = Math.floor((bytes.length - skip) / 3) * 3;
    const run = toBase64(bytes.slice(skip, skip + whole));
    if (run.length >= MIN_BASE64) runs.push(run);
  }
  return runs;
}

/** The PEM body of the first private key block of `pem`: its base64 lines, as written. */
function pemBodyLines(pem: string): string[] {
  const match = pem.match(
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n([\s\S]*?)-----END [A-Z0-9 ]*PRIVATE KEY-----/,
  );
  if (!match) return [];
  return match[1].split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line && !line.includes(":")
  );
}

/**
 * Every form of the private key in `pem` to look for, labelled with `name`.
 * @throws {Error} when `pem` holds no private key.
 */
export async function keyNeedles(name: string, pem: string): Promise<Needle[]> {
  const block = decodePem(pem, name).find((each) => each.label.endsWith("PRIVATE KEY"));
  if (!block) throw new Error(`${name} holds no private key`);
  const der = block.der;
  const lines = pemBodyLines(pem);
  const body = lines.join("");
  const needles: Needle[] = [];
  const add = (label: string, value: string, token = false) => {
    if (!needles.some((each) => each.value === value)) {
      needles.push({ label: `${name}: ${label}`, value, ...(token ? { token } : {}) });
    }
  };
  for (const [i, line] of lines.entries()) {
    if (line.length >= MIN_BASE64) add(`PEM body line ${i + 1}`, line);
  }
  for (const run of embeddedBase64(der)) {
    add("DER as base64", run);
    add("DER as base64url", toBase64Url(run));
  }
  add("DER as hex", toHex(der));
  add("DER as HEX", toHex(der).toUpperCase());
  const pemBytes = new TextEncoder().encode(pem);
  // The PEM file as a Secret's or kubeconfig's data holds it: look past the armour.
  for (const run of embeddedBase64(pemBytes.slice(40, pemBytes.length - 40))) {
    add("PEM file as base64", run);
  }
  const scalar = await privateScalar(pem, name);
  if (scalar) {
    add("private scalar as hex", toHex(scalar));
    add("private scalar as base64", toBase64(scalar).replace(/=+$/, ""));
    add("private scalar as base64url", toBase64Url(toBase64(scalar)));
  }
  // Unsalted digests a masker could have shown: of the file, the body (as lines or joined, with
  // real or JSON-escaped newlines), the DER, the scalar, the file's base64.
  const digested: [string, string | Uint8Array][] = [
    ["PEM file", pem],
    ["PEM file, trimmed", pem.trim()],
    ["PEM body", lines.join("\n")],
    ["PEM body, joined", body],
    ["PEM body, JSON-escaped", lines.join("\\n")],
    ["DER", der],
    ["PEM file as base64", btoa(pem)],
    ["PEM file as base64, trimmed", btoa(pem.trim())],
  ];
  if (scalar) digested.push(["private scalar", scalar]);
  for (const [label, data] of digested) {
    const digest = sha256Hex(data);
    add(`sha256 of the ${label}`, digest);
    add(`sha256 of the ${label}, 8-hex prefix`, digest.slice(0, 8), true);
  }
  return needles;
}

/** The private scalar (`d` of EC and RSA keys), or `undefined` for other keys. */
async function privateScalar(pem: string, name: string): Promise<Uint8Array | undefined> {
  try {
    const { privateKey } = await parsePrivateKey(pem, name);
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    if (!jwk.d) return undefined;
    const standard = jwk.d.replaceAll("-", "+").replaceAll("_", "/");
    return Uint8Array.from(
      atob(standard + "=".repeat((4 - standard.length % 4) % 4)),
      (c) => c.charCodeAt(0),
    );
  } catch {
    return undefined;
  }
}

/**
 * PEM private-key armour followed by anything but a masked marker (or its END line), also as a
 * line of a unified diff (`+`, `-` or ` ` before it) or inside a JSON string (`\\n`). The
 * separators are taken atomically (a lookahead's capture), so no backtracking skips them.
 */
const UNMASKED_ARMOUR =
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?=((?:\\r|\\n|\s)*[-+]?))\2(?!\(masked, [a-z0-9]+:[0-9a-f]+\)|-{4,5}END)/g;

/** Every needle found in `text`, and every private-key armour whose body is not masked. */
export function findLeaks(where: string, text: string, needles: readonly Needle[]): Leak[] {
  const leaks: Leak[] = [];
  const lower = text.toLowerCase();
  for (const needle of needles) {
    // Hex digests and DER hex are matched case-insensitively; base64 exactly.
    const hex = /^[0-9a-f]+$/i.test(needle.value);
    const at = needle.token
      ? lower.search(new RegExp(`(?<![0-9a-f])${needle.value}(?![0-9a-f])`))
      : hex
      ? lower.indexOf(needle.value.toLowerCase())
      : text.indexOf(needle.value);
    if (at >= 0) leaks.push({ where, label: needle.label, at });
  }
  for (const match of text.matchAll(UNMASKED_ARMOUR)) {
    const end = match.index + match[0].length;
    const next = text.slice(end, end + 40).replace(
      /[A-Za-z0-9+/=]{4,}/g,
      (run) => `<${run.length}>`,
    );
    leaks.push({ where, label: `unmasked ${match[1]}PRIVATE KEY armour`, at: match.index, next });
  }
  return leaks;
}

/** A leak as one line of a report: where and which form (never the text found). */
export function describeLeak(leak: Leak): string {
  const next = leak.next === undefined ? "" : ` before ${JSON.stringify(leak.next)}`;
  return `${leak.where} @${leak.at}: ${leak.label}${next}`;
}
