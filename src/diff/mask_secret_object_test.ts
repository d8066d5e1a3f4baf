import assert from "node:assert/strict";
import { maskSecretObject } from "./mask_secret_object.ts";

const MARKER = /^\(masked, sha256:[0-9a-f]{8}\)$/;

Deno.test("maskSecretObject() masks data of a Secret whose text does not name its kind", () => {
  const masked = maskSecretObject("metadata:\n  name: x\ndata:\n  k: c2VjcmV0\n");
  assert.ok(!masked.includes("c2VjcmV0"));
  assert.ok(masked.startsWith("metadata:\n  name: x\ndata:\n  k: (masked"));
  // Text that is not YAML is masked whole.
  assert.match(maskSecretObject("data: [c2VjcmV0\n").trim(), MARKER);
});
