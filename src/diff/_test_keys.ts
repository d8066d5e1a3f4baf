/**
 * Real private keys for the masking tests, generated per run, and an assertion that none of
 * their material appears in a text.
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import assert from "node:assert/strict";

/** One PEM private key of each kind the masking must recognise. */
export interface TestKeys {
  readonly pkcs8: string;
  readonly rsa: string;
  readonly ec: string;
  readonly encrypted: string;
}

/** Generates fresh private keys: PKCS#8, PKCS#1 RSA, SEC1 EC, encrypted PKCS#8. */
export function generateTestKeys(): TestKeys {
  const ec = (type: "pkcs8" | "sec1", extra: Record<string, string> = {}) =>
    generateKeyPairSync("ec", {
      namedCurve: "P-256",
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type, format: "pem", ...extra },
    }).privateKey as unknown as string;
  const rsa = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  }).privateKey as unknown as string;
  return {
    pkcs8: ec("pkcs8"),
    rsa,
    ec: ec("sec1"),
    encrypted: ec("pkcs8", { cipher: "aes-256-cbc", passphrase: "test" }),
  };
}

/** The base64 body of a PEM block, without line breaks. */
export function pemBody(pem: string): string {
  return pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----")).join("");
}

/**
 * Fails if `text` holds any 16-character run of `pem`'s body, the body of any private key
 * block, or the PEM in base64.
 */
export function assertNoKeyMaterial(text: string, pem: string): void {
  const body = pemBody(pem);
  for (let i = 0; i + 16 <= body.length; i += 4) {
    const piece = body.slice(i, i + 16);
    assert.ok(!text.includes(piece), `key material "${piece}" leaked into:\n${text}`);
  }
  assert.doesNotMatch(text, /PRIVATE KEY-{5}(\n|\\n)[A-Za-z0-9+/]{16}/);
  assert.ok(!text.includes(btoa(pem).slice(0, 40)), "base64 of the PEM leaked");
}
