/**
 * PEM framing: find the `-----BEGIN X-----` blocks in a text, encode DER back to PEM, and tell
 * whether a text holds private key material.
 * @module
 */
import "./crypto_provider.ts";

/** One PEM block: its label (e.g. `CERTIFICATE`, `RSA PRIVATE KEY`) and DER content. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes. */
  label: string;
  /** Header lines before the base64 body (e.g. `Proc-Type`), as written. */
  headers: string[];
  /** The decoded body. */
  der: Uint8Array<ArrayBuffer>;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const PRIVATE_KEY_LABEL = /^[A-Z0-9 ]*PRIVATE KEY( BLOCK)?$/;
const PRIVATE_KEY_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;

/**
 * Decodes every PEM block in `text`, in order. Text between or around blocks (comments,
 * blank lines, `openssl x509 -text` output) is ignored; whitespace inside a body is tolerated.
 * @throws {Error} when a block is not closed with the same label or its body is not base64.
 */
export function decodePem(text: string, source = "PEM text"): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label, body, endLabel] = match;
    const index = blocks.length + 1;
    if (label !== endLabel) {
      throw new Error(
        `Cannot decode ${source}: PEM block ${index} begins "${label}" but ends "${endLabel}"`,
      );
    }
    const headers: string[] = [];
    const base64: string[] = [];
    for (const rawLine of body.split(/\r?\n/)) {
      const line = rawLine.trim();
      if (line === "") continue;
      if (line.includes(":")) headers.push(line);
      else base64.push(line);
    }
    let der: Uint8Array<ArrayBuffer>;
    try {
      der = decodeBase64(base64.join(""));
    } catch {
      throw new Error(
        `Cannot decode ${source}: PEM block ${index} ("${label}") is not valid base64`,
      );
    }
    if (der.length === 0) {
      throw new Error(`Cannot decode ${source}: PEM block ${index} ("${label}") is empty`);
    }
    blocks.push({ label, headers, der });
  }
  return blocks;
}

/** Encodes DER as one PEM block with 64-character lines and a trailing newline. */
export function encodePem(label: string, der: Uint8Array | ArrayBuffer): string {
  const base64 = encodeBase64(der instanceof Uint8Array ? der : new Uint8Array(der));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Says whether `text` contains a private key PEM block of any kind (PKCS#8, encrypted PKCS#8,
 * PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, OpenSSH, …), so callers can mask it.
 */
export function containsPrivateKey(text: string): boolean {
  return PRIVATE_KEY_BEGIN.test(text);
}

/** Says whether a PEM label is a private key's (`PRIVATE KEY`, `EC PRIVATE KEY`, …). */
export function isPrivateKeyLabel(label: string): boolean {
  return PRIVATE_KEY_LABEL.test(label);
}

/**
 * The first certificate and the first private key of a PEM text (a kubelet's
 * `kubelet-client-current.pem` holds both), each as its own PEM block; absent parts are
 * `undefined`, and so is everything when the text is not PEM.
 */
export function certificateAndKey(text: string): { certPem?: string; keyPem?: string } {
  let blocks: PemBlock[];
  try {
    blocks = decodePem(text);
  } catch {
    return {};
  }
  const cert = blocks.find((block) => block.label === "CERTIFICATE");
  const key = blocks.find((block) => isPrivateKeyLabel(block.label));
  return {
    certPem: cert && encodePem(cert.label, cert.der),
    keyPem: key && encodePem(key.label, key.der),
  };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new Error("not base64");
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
