import assert from "node:assert/strict";
import {
  encodePrivateKey,
  kubeadmKeyFormat,
  parsePrivateKey,
  type PrivateKeyFormat,
  publicKeyOf,
} from "./private_key.ts";
import { generateKeyPair } from "./key_type.ts";
import { decodePem, encodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

/** Hex of the SPKI of a public key: compared instead of key PEMs so nothing secret is printed. */
async function spkiHex(key: CryptoKey): Promise<string> {
  return toHex(await crypto.subtle.exportKey("spki", key));
}

/** openssl's view of the public key of a private key file, as SPKI hex. */
async function opensslSpkiHex(dir: OpensslDir, keyFile: string): Promise<string> {
  await dir.run("pkey", "-in", keyFile, "-pubout", "-outform", "DER", "-out", `${keyFile}.pub`);
  return toHex(await dir.readBytes(`${keyFile}.pub`));
}

function label(pem: string): string {
  return decodePem(pem)[0].label;
}

const opensslTest = (name: string, fn: (dir: OpensslDir) => Promise<void>) =>
  Deno.test({
    name,
    ignore: !hasOpenssl,
    async fn() {
      await using dir = await OpensslDir.create();
      await fn(dir);
    },
  });

opensslTest("reads kubeadm's PKCS#1 RSA key (openssl genrsa -traditional)", async (dir) => {
  await dir.run("genrsa", "-traditional", "-out", "ca.key", "2048");
  const pem = await dir.read("ca.key");
  assert.equal(label(pem), "RSA PRIVATE KEY");
  const key = await parsePrivateKey(pem, "ca.key");
  assert.equal(key.format, "pkcs1");
  assert.equal(key.privateKey.algorithm.name, "RSASSA-PKCS1-v1_5");
  assert.equal((key.privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 2048);
  assert.equal(await spkiHex(key.publicKey), await opensslSpkiHex(dir, "ca.key"));
});

opensslTest("reads SEC1 EC keys, with an EC PARAMETERS block and without", async (dir) => {
  await dir.run("ecparam", "-name", "prime256v1", "-genkey", "-out", "with-params.key");
  const withParams = await dir.read("with-params.key");
  assert.deepEqual(decodePem(withParams).map((b) => b.label), ["EC PARAMETERS", "EC PRIVATE KEY"]);
  const a = await parsePrivateKey(withParams);
  assert.equal(a.format, "sec1");
  assert.equal((a.privateKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  assert.equal(await spkiHex(a.publicKey), await opensslSpkiHex(dir, "with-params.key"));

  await dir.run("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.key");
  const b = await parsePrivateKey(await dir.read("p384.key"));
  assert.equal((b.privateKey.algorithm as EcKeyAlgorithm).namedCurve, "P-384");
  assert.equal(await spkiHex(b.publicKey), await opensslSpkiHex(dir, "p384.key"));
});

opensslTest("reads a SEC1 key that omits its public key", async (dir) => {
  await dir.run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "full.key");
  await dir.run("ec", "-in", "full.key", "-no_public", "-out", "nopub.key");
  const key = await parsePrivateKey(await dir.read("nopub.key"));
  assert.equal(await spkiHex(key.publicKey), await opensslSpkiHex(dir, "full.key"));
});

opensslTest("reads PKCS#8 RSA and EC keys", async (dir) => {
  await dir.run(
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    "r.key",
  );
  await dir.run(
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    "e.key",
  );
  for (const file of ["r.key", "e.key"]) {
    const pem = await dir.read(file);
    assert.equal(label(pem), "PRIVATE KEY");
    const key = await parsePrivateKey(pem);
    assert.equal(key.format, "pkcs8");
    assert.equal(await spkiHex(key.publicKey), await opensslSpkiHex(dir, file));
  }
});

opensslTest("refuses unsupported curves and encrypted keys clearly", async (dir) => {
  await dir.run("ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", "p521.key");
  await assert.rejects(
    parsePrivateKey(await dir.read("p521.key"), "p521.key"),
    /Cannot read private key p521\.key: unsupported EC curve 1\.3\.132\.0\.35/,
  );
  await dir.run("genrsa", "-out", "plain.key", "2048");
  await dir.run("pkcs8", "-topk8", "-in", "plain.key", "-passout", "pass:x", "-out", "enc.key");
  await assert.rejects(parsePrivateKey(await dir.read("enc.key")), /encrypted private keys/);
  await dir.run(
    "rsa",
    "-in",
    "plain.key",
    "-traditional",
    "-aes128",
    "-passout",
    "pass:x",
    "-out",
    "enc1.key",
  );
  await assert.rejects(parsePrivateKey(await dir.read("enc1.key")), /encrypted private keys/);
});

opensslTest("writes PKCS#1 and SEC1 keys that openssl reads back", async (dir) => {
  const rsa = await generateKeyPair("rsa-2048");
  const rsaPem = await encodePrivateKey(rsa.privateKey, "pkcs1");
  assert.equal(label(rsaPem), "RSA PRIVATE KEY");
  await dir.write("rsa.key", rsaPem);
  await dir.run("rsa", "-in", "rsa.key", "-check", "-noout");
  assert.equal(await opensslSpkiHex(dir, "rsa.key"), await spkiHex(rsa.publicKey));

  const ec = await generateKeyPair("ecdsa-p256");
  const ecPem = await encodePrivateKey(ec.privateKey, "sec1");
  assert.equal(label(ecPem), "EC PRIVATE KEY");
  await dir.write("ec.key", ecPem);
  await dir.run("ec", "-in", "ec.key", "-check", "-noout");
  assert.equal(await opensslSpkiHex(dir, "ec.key"), await spkiHex(ec.publicKey));
  // SEC1 as kubeadm writes it: the curve and the public key are inside.
  const text = await dir.run("asn1parse", "-in", "ec.key");
  assert.match(text, /prime256v1/);
  assert.match(text, /cont \[ 1 \]/);
});

Deno.test("round-trips keys through every format that fits them", async () => {
  const cases: [string, CryptoKeyPair, PrivateKeyFormat[]][] = [
    ["rsa-2048", await generateKeyPair("rsa-2048"), ["pkcs8", "pkcs1"]],
    ["ecdsa-p256", await generateKeyPair("ecdsa-p256"), ["pkcs8", "sec1"]],
    ["ecdsa-p384", await generateKeyPair("ecdsa-p384"), ["pkcs8", "sec1"]],
  ];
  for (const [name, keys, formats] of cases) {
    for (const format of formats) {
      const pem = await encodePrivateKey(keys.privateKey, format);
      const back = await parsePrivateKey(pem);
      assert.equal(back.format, format, `${name} ${format}`);
      assert.equal(await spkiHex(back.publicKey), await spkiHex(keys.publicKey), `${name}`);
      // Writing the re-read key in the same format gives the same bytes.
      assert.ok(
        (await encodePrivateKey(back.privateKey, format)) === pem,
        `${name} ${format} re-encodes identically`,
      );
    }
  }
});

Deno.test("refuses formats that do not fit the key", async () => {
  const ec = await generateKeyPair("ecdsa-p256");
  const rsa = await generateKeyPair("rsa-2048");
  await assert.rejects(encodePrivateKey(ec.privateKey, "pkcs1"), /PKCS#1 holds RSA keys only/);
  await assert.rejects(encodePrivateKey(rsa.privateKey, "sec1"), /SEC1 holds EC keys only/);
  await assert.rejects(encodePrivateKey(rsa.publicKey, "pkcs8"), /got a public key/);
});

Deno.test("kubeadmKeyFormat is PKCS#1 for RSA and SEC1 for EC", async () => {
  assert.equal(kubeadmKeyFormat((await generateKeyPair("rsa-2048")).privateKey), "pkcs1");
  assert.equal(kubeadmKeyFormat((await generateKeyPair("ecdsa-p256")).privateKey), "sec1");
});

Deno.test("refuses texts without exactly one private key, without echoing key data", async () => {
  await assert.rejects(
    parsePrivateKey("-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n", "x.key"),
    /Cannot read private key x\.key: no PRIVATE KEY block found/,
  );
  const keys = await generateKeyPair("ecdsa-p256");
  const pem = await encodePrivateKey(keys.privateKey, "sec1");
  await assert.rejects(parsePrivateKey(pem + pem), /found 2 private key blocks/);
  const body = decodePem(pem)[0].der;
  const broken = encodePem("EC PRIVATE KEY", body.slice(0, body.length - 10));
  const err = await parsePrivateKey(broken, "broken.key").then(() => undefined, (e) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /Cannot read private key broken\.key: malformed SEC1 structure/);
  const base64Body = broken.split("\n")[1];
  assert.ok(!err.message.includes(base64Body.slice(0, 20)), "message must not echo key data");
});

Deno.test("publicKeyOf derives a verifying key", async () => {
  const keys = await generateKeyPair("ecdsa-p256");
  const pub = await publicKeyOf(keys.privateKey);
  assert.equal(pub.type, "public");
  assert.equal(await spkiHex(pub), await spkiHex(keys.publicKey));
  const data = new Uint8Array([1, 2, 3]);
  const alg = { name: "ECDSA", hash: "SHA-256" };
  const sig = await crypto.subtle.sign(alg, keys.privateKey, data);
  assert.equal(await crypto.subtle.verify(alg, pub, sig, data), true);
});
