import assert from "node:assert/strict";
import { assertKeyMatchesCertificate, keyMatchesCertificate } from "./key_match.ts";
import { generateCa } from "./ca.ts";
import { generateKeyPair } from "./key_type.ts";
import { parsePrivateKey } from "./private_key.ts";
import { parseCertificate } from "./bundle.ts";
import { hasOpenssl, makeOpensslCaAndLeaf, OpensslDir } from "./_test_openssl.ts";

const ec = await generateCa({ keyType: "ecdsa-p256" });
const rsa = await generateCa({ keyType: "rsa-2048" });

Deno.test("a certificate's own key matches it (EC and RSA)", async () => {
  assert.equal(await keyMatchesCertificate(ec.privateKey, ec.cert), true);
  assert.equal(await keyMatchesCertificate(rsa.privateKey, rsa.cert), true);
});

Deno.test("another key of the same type does not match", async () => {
  const otherEc = await generateKeyPair("ecdsa-p256");
  const otherRsa = await generateKeyPair("rsa-2048");
  assert.equal(await keyMatchesCertificate(otherEc.privateKey, ec.cert), false);
  assert.equal(await keyMatchesCertificate(otherRsa.privateKey, rsa.cert), false);
});

Deno.test("keys of another algorithm or curve do not match", async () => {
  assert.equal(await keyMatchesCertificate(rsa.privateKey, ec.cert), false);
  assert.equal(await keyMatchesCertificate(ec.privateKey, rsa.cert), false);
  const p384 = await generateKeyPair("ecdsa-p384");
  assert.equal(await keyMatchesCertificate(p384.privateKey, ec.cert), false);
});

Deno.test("non-extractable keys are checked by signing a challenge", async () => {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", ec.privateKey);
  const alg = { name: "ECDSA", namedCurve: "P-256" };
  const sealed = await crypto.subtle.importKey("pkcs8", pkcs8, alg, false, ["sign"]);
  assert.equal(await keyMatchesCertificate(sealed, ec.cert), true);
  const other = await generateKeyPair("ecdsa-p256");
  const otherSealed = await crypto.subtle.importKey(
    "pkcs8",
    await crypto.subtle.exportKey("pkcs8", other.privateKey),
    alg,
    false,
    ["sign"],
  );
  assert.equal(await keyMatchesCertificate(otherSealed, ec.cert), false);
});

Deno.test("a mismatching key is refused with a clear error", async () => {
  const other = await generateKeyPair("rsa-2048");
  await assert.rejects(
    assertKeyMatchesCertificate(other.privateKey, rsa.cert, "/etc/kubernetes/pki/ca.key"),
    (err: Error) => {
      assert.match(
        err.message,
        /^Private key \/etc\/kubernetes\/pki\/ca\.key does not match certificate "CN=kubernetes" \(serial [0-9a-f]+\): refusing to use it$/,
      );
      return true;
    },
  );
  await assertKeyMatchesCertificate(rsa.privateKey, rsa.cert);
});

Deno.test({
  name: "openssl-made kubeadm-format pairs match, and swapped ones do not",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    await makeOpensslCaAndLeaf(dir);
    const caCert = parseCertificate(await dir.read("ca.crt"));
    const leafCert = parseCertificate(await dir.read("leaf.crt"));
    const caKey = await parsePrivateKey(await dir.read("ca.key"));
    const leafKey = await parsePrivateKey(await dir.read("leaf.key"));
    assert.equal(await keyMatchesCertificate(caKey.privateKey, caCert), true);
    assert.equal(await keyMatchesCertificate(leafKey.privateKey, leafCert), true);
    assert.equal(await keyMatchesCertificate(leafKey.privateKey, caCert), false);
    assert.equal(await keyMatchesCertificate(caKey.privateKey, leafCert), false);
  },
});
