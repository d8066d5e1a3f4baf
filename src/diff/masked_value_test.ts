import assert from "node:assert/strict";
import { maskedValue } from "./masked_value.ts";

const MARKER = /^\(masked, sha256:[0-9a-f]{8}\)$/;

Deno.test("maskedValue() is a short digest marker that differs with the secret", () => {
  assert.match(maskedValue("a"), MARKER);
  assert.equal(maskedValue("a"), maskedValue("a"));
  assert.notEqual(maskedValue("a"), maskedValue("b"));
  // sha256("a") = ca978112…
  assert.equal(maskedValue("a"), "(masked, sha256:ca978112)");
});
