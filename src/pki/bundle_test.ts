import assert from "node:assert/strict";
import {
  certificateToPem,
  dedupeCertificates,
  encodeBundle,
  parseCertificate,
  parseCertificates,
} from "./bundle.ts";
import { generateCa } from "./ca.ts";
import { fingerprint } from "./fingerprint.ts";
import { encodePem } from "./pem.ts";

const oldCa = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });
const newCa = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });

Deno.test("bundle: parse then encode round-trips, in order", async () => {
  const text = `# old CA\n${oldCa.certPem}\n\n# new CA\n${newCa.certPem}`;
  const certs = parseCertificates(text, "ca-bundle.crt");
  assert.equal(certs.length, 2);
  assert.equal(await fingerprint(certs[0]), await fingerprint(oldCa.cert));
  assert.equal(await fingerprint(certs[1]), await fingerprint(newCa.cert));
  const encoded = encodeBundle(certs);
  assert.equal(encoded, oldCa.certPem + newCa.certPem);
  const again = parseCertificates(encoded);
  assert.deepEqual(
    await Promise.all(again.map((c) => fingerprint(c))),
    await Promise.all(certs.map((c) => fingerprint(c))),
  );
});

Deno.test("bundle: encode drops later duplicates and keeps first order", async () => {
  const certs = parseCertificates(newCa.certPem + oldCa.certPem + newCa.certPem + oldCa.certPem);
  assert.equal(certs.length, 4);
  assert.equal(dedupeCertificates(certs).length, 2);
  const encoded = encodeBundle(certs);
  const back = parseCertificates(encoded);
  assert.deepEqual(
    await Promise.all(back.map((c) => fingerprint(c))),
    [await fingerprint(newCa.cert), await fingerprint(oldCa.cert)],
  );
  assert.equal(encodeBundle([]), "");
});

Deno.test("bundle: key blocks are ignored, never returned", () => {
  const certs = parseCertificates(oldCa.keyPem + oldCa.certPem);
  assert.equal(certs.length, 1);
  assert.ok(!encodeBundle(certs).includes("PRIVATE KEY"));
});

Deno.test("bundle: a text without certificates is refused with its source", () => {
  assert.throws(
    () => parseCertificates("# empty\n", "/etc/kubernetes/pki/ca.crt"),
    /Cannot parse \/etc\/kubernetes\/pki\/ca\.crt: no CERTIFICATE block found/,
  );
});

Deno.test("bundle: a broken certificate block is refused with its position", () => {
  const bad = encodePem("CERTIFICATE", new Uint8Array([0x30, 0x03, 1, 2, 3]));
  assert.throws(
    () => parseCertificates(oldCa.certPem + bad, "bundle.pem"),
    /Cannot parse bundle\.pem: certificate 2 of 2 is not a valid X\.509 certificate/,
  );
});

Deno.test("bundle: parseCertificate returns the first certificate", async () => {
  const cert = parseCertificate(newCa.certPem + oldCa.certPem);
  assert.equal(await fingerprint(cert), await fingerprint(newCa.cert));
  assert.equal(certificateToPem(cert), newCa.certPem);
});
