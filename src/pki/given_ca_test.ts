import assert from "node:assert/strict";
import { generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { checkGivenCa, GivenCaError, type GivenCaFile } from "./given_ca.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

const DAY = 24 * 60 * 60 * 1000;

async function refused(
  certPem: string,
  keyPem: string,
  file: GivenCaFile,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(
    () => checkGivenCa(certPem, keyPem),
    (error) => {
      assert.ok(error instanceof GivenCaError, String(error));
      assert.equal(error.file, file, error.message);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /PRIVATE KEY-----/);
      return true;
    },
  );
}

Deno.test("a given CA: a valid pair is accepted", async () => {
  const ca = await generateCa({ commonName: "given", keyType: "ecdsa-p256" });
  const checked = await checkGivenCa(ca.certPem, ca.keyPem);
  assert.equal(checked.cert.subject, "CN=given");
});

Deno.test("a given CA: what is not a usable CA is refused, naming the file", async () => {
  const ca = await generateCa({ commonName: "given", keyType: "ecdsa-p256" });
  const other = await generateCa({ commonName: "other", keyType: "ecdsa-p256" });
  const leaf = await issueCertificate({ ca, commonName: "leaf" });
  const expired = await generateCa({
    keyType: "ecdsa-p256",
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  const future = await generateCa({
    keyType: "ecdsa-p256",
    notBefore: new Date(Date.now() + DAY),
    notAfter: new Date(Date.now() + 10 * DAY),
  });
  await refused(leaf.certPem, leaf.keyPem!, "cert", /"CN=leaf" is not a CA/);
  await refused(expired.certPem, expired.keyPem, "cert", /expired on \d{4}-/);
  await refused(future.certPem, future.keyPem, "cert", /not valid before \d{4}-/);
  await refused(ca.certPem, other.keyPem, "key", /does not match certificate "CN=given"/);
  await refused("", ca.keyPem, "cert", /is empty/);
  await refused(ca.certPem, " \n", "key", /is empty/);
  await refused(ca.keyPem, ca.keyPem, "cert", /holds a private key, not a certificate/);
  await refused(ca.certPem, ca.certPem, "key", /holds a certificate, not a private key/);
  await refused(ca.certPem.slice(0, 200), ca.keyPem, "cert", /cut short/);
  await refused(ca.certPem, ca.keyPem.slice(0, 80), "key", /cut short/);
  await refused("hello", ca.keyPem, "cert", /is not PEM/);
  const encrypted =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
  await refused(ca.certPem, encrypted, "key", /encrypted/);
});

Deno.test({
  name: "a given CA: an RSA key under 2048 bits and a legacy encrypted key (openssl)",
  ignore: !hasOpenssl,
}, async () => {
  const dir = await OpensslDir.create();
  try {
    await dir.run(
      "req",
      "-x509",
      "-newkey",
      "rsa:1024",
      "-nodes",
      "-keyout",
      "small.key",
      "-out",
      "small.crt",
      "-subj",
      "/CN=small",
      "-days",
      "3",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    ); // deno-fmt-ignore
    await refused(
      await dir.read("small.crt"),
      await dir.read("small.key"),
      "key",
      /RSA key has 1024 bits; a CA key needs at least 2048/,
    );
    await dir.run(
      "rsa",
      "-in",
      "small.key",
      "-traditional",
      "-des3",
      "-passout",
      "pass:secret",
      "-out",
      "legacy.key",
    ); // deno-fmt-ignore
    await refused(await dir.read("small.crt"), await dir.read("legacy.key"), "key", /encrypted/);
  } finally {
    await Deno.remove(dir.path, { recursive: true });
  }
});
