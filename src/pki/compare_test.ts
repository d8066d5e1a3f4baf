import assert from "node:assert/strict";
import {
  fingerprintsOf,
  holdsCertificates,
  sameCertificate,
  sameCertificates,
  sameFingerprints,
} from "./compare.ts";
import { generateCa } from "./ca.ts";
import { parseCertificate } from "./bundle.ts";
import { fingerprint } from "./fingerprint.ts";

// Old and new cluster CA share the subject "kubernetes": only the certificates tell them apart.
const oldCa = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });
const newCa = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });

/** The same PEM text re-wrapped: CRLF line endings, indented lines, text around the block. */
function reformatted(pem: string): string {
  return `subject=CN=kubernetes\r\n${
    pem.trim().split("\n").map((line) => `  ${line}`).join("\r\n")
  }\r\n\r\n`;
}

Deno.test("fingerprintsOf: sorted, distinct, one per certificate", async () => {
  const prints = await fingerprintsOf(newCa.certPem + oldCa.certPem + newCa.certPem);
  const expected = [await fingerprint(oldCa.cert), await fingerprint(newCa.cert)].sort();
  assert.deepEqual(prints, expected);
  await assert.rejects(fingerprintsOf("nothing", "cp-1:/etc/ca.crt"), /cp-1:\/etc\/ca.crt/);
});

Deno.test("sameFingerprints: set equality, order and repeats aside", () => {
  assert.ok(sameFingerprints(["a", "b"], ["b", "a", "a"]));
  assert.ok(sameFingerprints([], []));
  assert.ok(!sameFingerprints(["a"], ["a", "b"]));
  assert.ok(!sameFingerprints(["a", "b"], ["a", "c"]));
});

Deno.test("sameCertificates compares certificates, not PEM text", async () => {
  const bundle = oldCa.certPem + newCa.certPem;
  assert.ok(await sameCertificates(bundle, newCa.certPem + oldCa.certPem));
  assert.ok(await sameCertificates(reformatted(newCa.certPem), newCa.certPem));
  assert.ok(await sameCertificates(bundle + newCa.certPem, bundle));
  assert.ok(!(await sameCertificates(bundle, newCa.certPem)));
  assert.ok(!(await sameCertificates(oldCa.certPem, newCa.certPem)));
  await assert.rejects(sameCertificates("", newCa.certPem, "ca.crt"), /Cannot parse ca.crt/);
});

Deno.test("holdsCertificates: every wanted certificate, maybe more", async () => {
  const bundle = reformatted(oldCa.certPem) + reformatted(newCa.certPem);
  assert.ok(await holdsCertificates(bundle, newCa.certPem));
  assert.ok(await holdsCertificates(bundle, newCa.certPem + oldCa.certPem));
  assert.ok(await holdsCertificates(newCa.certPem, newCa.certPem));
  assert.ok(!(await holdsCertificates(oldCa.certPem, newCa.certPem)));
  assert.ok(!(await holdsCertificates(newCa.certPem, bundle)));
  await assert.rejects(holdsCertificates("x", newCa.certPem, "bundle.crt"), /bundle.crt/);
});

Deno.test("sameCertificate: same DER, not same subject", () => {
  assert.ok(sameCertificate(parseCertificate(reformatted(newCa.certPem)), newCa.cert));
  assert.equal(oldCa.cert.subject, newCa.cert.subject);
  assert.ok(!sameCertificate(oldCa.cert, newCa.cert));
});
