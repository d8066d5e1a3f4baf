import assert from "node:assert/strict";
import { discoveryHash, discoveryHashes } from "./discovery_hash.ts";
import { generateCa } from "./ca.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

const ca = await generateCa({ keyType: "ecdsa-p256" });
const other = await generateCa({ keyType: "rsa-2048" });

Deno.test("discoveryHash: sha256: and 64 hex digits; one per certificate of a bundle", async () => {
  const hash = await discoveryHash(ca.cert);
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(await discoveryHashes(ca.certPem + other.certPem), [
    hash,
    await discoveryHash(other.cert),
  ]);
  assert.notEqual(await discoveryHash(other.cert), hash);
});

Deno.test({
  name: "discoveryHash equals the recipe of kubeadm's documentation (openssl over the DER SPKI)",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    for (const [name, each] of [["ec.crt", ca], ["rsa.crt", other]] as const) {
      await dir.write(name, each.certPem);
      await dir.run("x509", "-in", name, "-pubkey", "-noout", "-out", `${name}.pub`);
      await dir.run(
        "pkey",
        "-pubin",
        "-in",
        `${name}.pub`,
        "-outform",
        "der",
        "-out",
        `${name}.der`,
      );
      const out = await dir.run("dgst", "-sha256", "-hex", `${name}.der`);
      const expected = out.trim().split("= ")[1];
      assert.equal(await discoveryHash(each.cert), `sha256:${expected}`);
    }
  },
});
