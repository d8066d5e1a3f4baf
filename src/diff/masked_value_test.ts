import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { maskedValue } from "./masked_value.ts";

const MARKER = /^\(masked, sha256:[0-9a-f]{8}\)$/;

Deno.test("maskedValue() is a short marker that differs with the secret", () => {
  assert.match(maskedValue("a"), MARKER);
  assert.equal(maskedValue("a"), maskedValue("a"));
  assert.notEqual(maskedValue("a"), maskedValue("b"));
});

Deno.test("maskedValue() shows no unsalted digest of the secret", () => {
  for (
    const secret of ["a", "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----"]
  ) {
    const unsalted = createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 8);
    assert.notEqual(maskedValue(secret), `(masked, sha256:${unsalted})`);
  }
});
