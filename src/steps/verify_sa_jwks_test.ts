import assert from "node:assert/strict";
import { describeJwksFinding, jwksFinding } from "./verify_sa_jwks.ts";

Deno.test("an endpoint that lacks the new key is named with the key id it lacks", () => {
  const finding = jwksFinding("https://198.18.0.2:6443", ["OLD"], ["NEW", "OLD"], false);
  assert.deepEqual(finding.missing, ["NEW"]);
  assert.equal(describeJwksFinding(finding), "https://198.18.0.2:6443 lacks kid NEW");
});

Deno.test("with expect new, an endpoint still publishing the old key is named", () => {
  const finding = jwksFinding("https://e", ["NEW", "OLD"], ["NEW"], true);
  assert.equal(describeJwksFinding(finding), "https://e still publishes kid OLD");
  assert.equal(describeJwksFinding(jwksFinding("https://e", ["NEW"], ["NEW"], true)), undefined);
  // In trust a superset is fine: the API server may verify more keys than the bundle's.
  assert.equal(
    describeJwksFinding(jwksFinding("https://e", ["A", "B", "C"], ["A", "B"], false)),
    undefined,
  );
});
