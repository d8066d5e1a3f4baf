import assert from "node:assert/strict";
import { fingerprint, toHex } from "./fingerprint.ts";
import { generateCa } from "./ca.ts";
import { parseCertificate } from "./bundle.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

const ca = await generateCa({ keyType: "ecdsa-p256" });

Deno.test("fingerprint is 64 lowercase hex digits and stable", async () => {
  const a = await fingerprint(ca.cert);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(await fingerprint(ca.cert), a);
  assert.equal(await fingerprint(parseCertificate(ca.certPem)), a);
  assert.equal(await fingerprint(new Uint8Array(ca.cert.rawData)), a);
});

Deno.test("fingerprint differs between certificates", async () => {
  const other = await generateCa({ keyType: "ecdsa-p256" });
  assert.notEqual(await fingerprint(other.cert), await fingerprint(ca.cert));
});

Deno.test({
  name: "fingerprint equals openssl's SHA-256 fingerprint",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    await dir.write("ca.crt", ca.certPem);
    const out = await dir.run("x509", "-in", "ca.crt", "-noout", "-fingerprint", "-sha256");
    const expected = out.trim().split("=")[1].replaceAll(":", "").toLowerCase();
    assert.equal(await fingerprint(ca.cert), expected);
  },
});

Deno.test("toHex pads bytes", () => {
  assert.equal(toHex(new Uint8Array([0, 1, 255, 16])), "0001ff10");
});
