import assert from "node:assert/strict";
import {
  generateServiceAccountKey,
  jwtKeyId,
  publicKeyBundle,
  publicKeyIds,
  serviceAccountKeyPair,
} from "./service_account_key.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

Deno.test({
  name: "the key id is what openssl gives for base64url(SHA-256(PKIX DER)), as kube-apiserver's",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    // A kubeadm-like sa.key (PKCS#1 RSA) and sa.pub, made by openssl.
    await dir.run("genrsa", "-traditional", "-out", "sa.key", "2048");
    await dir.run("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
    await dir.run("rsa", "-in", "sa.key", "-pubout", "-outform", "DER", "-out", "sa.der");
    const digest = await crypto.subtle.digest("SHA-256", await dir.readBytes("sa.der"));
    const expected = btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const pair = await serviceAccountKeyPair(await dir.read("sa.key"), "sa.key");
    assert.equal(pair.keyId, expected);
    assert.deepEqual(await publicKeyIds(await dir.read("sa.pub"), "sa.pub"), [expected]);
    assert.equal(pair.publicPem, await dir.read("sa.pub"));
  },
});

Deno.test("a generated key is in kubeadm's format and its id is its public key's", async () => {
  const rsa = await generateServiceAccountKey("rsa-2048");
  assert.match(rsa.keyPem, /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.deepEqual(await publicKeyIds(rsa.publicPem), [rsa.keyId]);
  const ec = await generateServiceAccountKey("ecdsa-p256");
  assert.match(ec.keyPem, /^-----BEGIN EC PRIVATE KEY-----/);
  assert.notEqual(ec.keyId, rsa.keyId);
});

Deno.test("the bundle holds each public key once, the old first", async () => {
  const old = await generateServiceAccountKey("ecdsa-p256");
  const next = await generateServiceAccountKey("ecdsa-p256");
  const bundle = await publicKeyBundle([old.publicPem, next.publicPem, old.publicPem]);
  assert.deepEqual(await publicKeyIds(bundle), [old.keyId, next.keyId]);
});

Deno.test({
  name: "a weak or unusable given key is refused, naming the source and not the key",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    await dir.run("genrsa", "-traditional", "-out", "weak.key", "1024");
    const pem = await dir.read("weak.key");
    await assert.rejects(
      () => serviceAccountKeyPair(pem, "plans/sa.key"),
      (error: Error) =>
        /plans\/sa\.key.*rsa-1024.*expected RSA \(2048/.test(error.message) &&
        !error.message.includes(pem.split("\n")[1]),
    );
    await assert.rejects(() => serviceAccountKeyPair("not a key", "x.key"), /x\.key/);
  },
});

Deno.test("jwtKeyId reads the kid of a JWT header and nothing else", () => {
  const header = btoa(JSON.stringify({ alg: "RS256", kid: "abc_-1" })).replace(/=+$/, "");
  assert.equal(jwtKeyId(`${header}.eyJzdWIiOiJ4In0.sig`), "abc_-1");
  assert.equal(jwtKeyId("not-a-jwt"), undefined);
  assert.equal(jwtKeyId(""), undefined);
});
