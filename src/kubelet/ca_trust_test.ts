import assert from "node:assert/strict";
import { at, kubeletCert, makeCas } from "./_test_kubelet_certificates.ts";
import {
  caTrustFromBundle,
  caTrustFromPem,
  classifyCa,
  classifyIssuer,
  summarizeTrust,
} from "./ca_trust.ts";
import { generateCa } from "../pki/mod.ts";

const cas = await makeCas();

Deno.test("classifyIssuer tells old from new CA by signature, though both are 'kubernetes'", async () => {
  const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
  assert.equal(cas.new.cert.subject, cas.old.cert.subject);
  const oldCert = await kubeletCert(cas.old, "n", at(0), at(100));
  const newCert = await kubeletCert(cas.new, "n", at(0), at(100));
  const otherCert = await kubeletCert(cas.other, "n", at(0), at(100));
  assert.equal(await classifyIssuer(oldCert, trust), "old");
  assert.equal(await classifyIssuer(newCert, trust), "new");
  assert.equal(await classifyIssuer(otherCert, trust), "unknown");
  // without the old CA, an old-CA certificate is unknown
  assert.equal(await classifyIssuer(oldCert, caTrustFromPem(cas.new.certPem)), "unknown");
});

Deno.test("caTrustFromPem: a bundle given as old CA loses the new CA", () => {
  const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem + cas.new.certPem);
  assert.equal(trust.newCas.length, 1);
  assert.equal(trust.oldCas.length, 1);
  assert.equal(classifyCa(trust.oldCas[0], trust), "old");
  assert.throws(() => caTrustFromPem("nothing"), /no CERTIFICATE block/);
});

Deno.test("caTrustFromBundle: the youngest certificate is the new CA", async () => {
  const older = await generateCa({ keyType: "ecdsa-p256", notBefore: new Date("2020-01-01") });
  const younger = await generateCa({ keyType: "ecdsa-p256", notBefore: new Date("2025-01-01") });
  for (const bundle of [older.certPem + younger.certPem, younger.certPem + older.certPem]) {
    const trust = caTrustFromBundle(bundle);
    assert.equal(classifyCa(younger.cert, trust), "new");
    assert.equal(classifyCa(older.cert, trust), "old");
  }
  const explicit = caTrustFromBundle(older.certPem + younger.certPem, older.certPem);
  assert.equal(classifyCa(older.cert, explicit), "new");
  assert.equal(classifyCa(younger.cert, explicit), "old");
});

Deno.test("classifyCa matches a re-encoded CA by subject and key", () => {
  const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
  assert.equal(classifyCa(cas.new.cert, trust), "new");
  assert.equal(classifyCa(cas.other.cert, trust), "unknown");
});

Deno.test("summarizeTrust gives subjects and fingerprints, no keys", async () => {
  const summary = await summarizeTrust(caTrustFromPem(cas.new.certPem, cas.old.certPem));
  assert.equal(summary.new[0].subject, "CN=kubernetes");
  assert.match(summary.old[0].fingerprint, /^[0-9a-f]{64}$/);
  assert.doesNotMatch(JSON.stringify(summary), /PRIVATE/);
});
