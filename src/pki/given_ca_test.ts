import assert from "node:assert/strict";
import { generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { checkGivenCa, GivenCaError, type GivenCaFile } from "./given_ca.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";
import { x509 } from "./crypto_provider.ts";
import { generateKeyPair, signingAlgorithm } from "./key_type.ts";
import { encodePrivateKey } from "./private_key.ts";
import { certificateToPem } from "./bundle.ts";

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

/** A CA certificate signed by `issuer` (self-signed without one), with the extensions given. */
async function caCert(options: {
  name: string;
  issuer?: { cert: x509.X509Certificate; privateKey: CryptoKey };
  usages?: number | null;
  ski?: boolean;
  days?: number;
}): Promise<{ cert: x509.X509Certificate; privateKey: CryptoKey; keyPem: string; pem: string }> {
  const keys = await generateKeyPair("ecdsa-p256");
  const usages = options.usages === undefined
    ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    : options.usages;
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.name}`,
    issuer: options.issuer?.cert.subject ?? `CN=${options.name}`,
    serialNumber: "0" + crypto.getRandomValues(new Uint8Array(8)).join("").slice(0, 12),
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + (options.days ?? 3650) * DAY),
    publicKey: keys.publicKey,
    signingKey: options.issuer?.privateKey ?? keys.privateKey,
    signingAlgorithm: signingAlgorithm(options.issuer?.privateKey ?? keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      ...(usages === null ? [] : [new x509.KeyUsagesExtension(usages, true)]),
      ...(options.ski === false ? [] : [
        await x509.SubjectKeyIdentifierExtension.create(
          keys.publicKey,
        ),
      ]),
    ],
  });
  return {
    cert,
    privateKey: keys.privateKey,
    keyPem: await encodePrivateKey(keys.privateKey, "sec1"),
    pem: certificateToPem(cert),
  };
}

Deno.test("a given CA with its chain: the CA is the certificate of the key, its issuers the chain", async () => {
  const root = await caCert({ name: "root" });
  const intermediate = await caCert({ name: "intermediate", issuer: root });
  for (const text of [intermediate.pem + root.pem, root.pem + intermediate.pem]) {
    const given = await checkGivenCa(text, intermediate.keyPem);
    assert.equal(given.cert.subject, "CN=intermediate");
    assert.deepEqual(given.chain.map((cert) => cert.subject), ["CN=root"]);
  }
  const alone = await checkGivenCa(intermediate.pem, intermediate.keyPem);
  assert.deepEqual(alone.chain, [], "an intermediate alone is accepted: it signs");
  const stranger = await caCert({ name: "stranger" });
  await refused(
    intermediate.pem + root.pem + stranger.pem,
    intermediate.keyPem,
    "cert",
    /holds a certificate outside the chain of "CN=intermediate": "CN=stranger"/,
  );
  await refused(root.pem, intermediate.keyPem, "key", /does not match certificate "CN=root"/);
});

Deno.test("a given CA must be able to sign: keyCertSign, a subject key identifier, a key type Go's TLS takes", async () => {
  const noKeyCertSign = await caCert({ name: "crl-only", usages: x509.KeyUsageFlags.cRLSign });
  await refused(noKeyCertSign.pem, noKeyCertSign.keyPem, "cert", /keyUsage without keyCertSign/);
  const noUsage = await caCert({ name: "no-usage", usages: null });
  await refused(noUsage.pem, noUsage.keyPem, "cert", /no keyUsage extension/);
  const noSki = await caCert({ name: "no-ski", ski: false });
  await refused(noSki.pem, noSki.keyPem, "cert", /no subjectKeyIdentifier/);
  const ed = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const edPem = await encodePrivateKey(ed.privateKey, "pkcs8");
  const ca = await generateCa({ commonName: "given", keyType: "ecdsa-p256" });
  await refused(
    ca.certPem,
    edPem,
    "key",
    /unsupported key algorithm 1.3.101.112 \(only RSA and ECDSA P-256\/P-384/,
  );
});

Deno.test("a given CA must outlive the leaves the plan issues with it", async () => {
  const short = await caCert({ name: "short", days: 100 });
  const days = await checkGivenCa(short.pem, short.keyPem, { leafDays: 90 });
  assert.equal(days.cert.subject, "CN=short", "100 days left cover 90-day leaves");
  await assert.rejects(
    () => checkGivenCa(short.pem, short.keyPem, { leafDays: 365 }),
    /in (99|100) days: sooner than the 365-day certificates the plan issues with it/,
  );
});
