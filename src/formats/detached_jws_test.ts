import assert from "node:assert/strict";
import { base64Url, detachedJwsProblem, signDetachedJws } from "./detached_jws.ts";

// The vectors of k8s.io/cluster-bootstrap v0.37.2, token/jws/jws_test.go: what the bootstrap
// signer (and kubeadm join's check) computes.
const CONTENT = "Hello from the other side. I must have called a thousand times.";
const SECRET = "my voice is my passcode";
const ID = "joshua";
const UPSTREAM =
  "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8";

Deno.test("signDetachedJws computes the signatures k8s.io/cluster-bootstrap computes", async () => {
  assert.equal(await signDetachedJws(CONTENT, ID, SECRET), UPSTREAM);
  assert.equal(
    await signDetachedJws("", ID, SECRET),
    "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk",
  );
});

Deno.test("detachedJwsProblem: the upstream signature verifies", async () => {
  assert.equal(await detachedJwsProblem(CONTENT, UPSTREAM, ID, SECRET), undefined);
  assert.equal(await detachedJwsProblem(CONTENT, `${UPSTREAM}\n`, ID, SECRET), undefined);
});

Deno.test("detachedJwsProblem negative: other content, secret, token id, algorithm, form", async () => {
  // The content a signature was made for before cluster-info changed does not verify.
  assert.equal(await detachedJwsProblem(`${CONTENT} `, UPSTREAM, ID, SECRET), "signature");
  assert.equal(await detachedJwsProblem(CONTENT, UPSTREAM, ID, "another secret!"), "signature");
  assert.equal(await detachedJwsProblem(CONTENT, UPSTREAM, "abcdef", SECRET), "key id");
  assert.equal(await detachedJwsProblem(CONTENT, `${UPSTREAM}foo`, ID, SECRET), "signature");
  const none = `${base64Url(JSON.stringify({ alg: "none", kid: ID }))}..${UPSTREAM.split("..")[1]}`;
  assert.equal(await detachedJwsProblem(CONTENT, none, ID, SECRET), "algorithm");
  for (
    const malformed of ["", "abc", UPSTREAM.replace("..", ".x."), "e30..!!", "bm90IGpzb24..AA"]
  ) {
    assert.equal(await detachedJwsProblem(CONTENT, malformed, ID, SECRET), "malformed", malformed);
  }
});
