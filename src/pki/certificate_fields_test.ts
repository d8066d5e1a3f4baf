import assert from "node:assert/strict";
import {
  certificateFieldsOf,
  certificateSha256,
  readCertificateFields,
  readCertificateFieldsPem,
} from "./certificate_fields.ts";
import { x509 } from "./crypto_provider.ts";
import { decodePem } from "./pem.ts";
import { generateCa } from "./ca.ts";
import { issueCertificate } from "./issue_certificate.ts";
import { fingerprint } from "./fingerprint.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

/** Every field of the DER reader equals what `@peculiar/x509` reads from the same certificate. */
function assertSameFields(pem: string, what: string): void {
  const fast = readCertificateFieldsPem(pem, what);
  const reference = certificateFieldsOf(new x509.X509Certificate(pem));
  for (
    const key of [
      "der",
      "tbs",
      "serialNumber",
      "issuerDer",
      "subjectDer",
      "issuer",
      "subject",
      "subjectCommonNames",
      "subjectOrganizations",
      "authorityKeyId",
      "subjectKeyId",
      "signatureAlgorithm",
      "signature",
      "subjectPublicKeyInfo",
      "publicKeyAlgorithm",
    ] as const
  ) {
    assert.deepEqual(fast[key], reference[key], `${what}: ${key}`);
  }
  assert.equal(fast.notBefore.getTime(), reference.notBefore.getTime(), `${what}: notBefore`);
  assert.equal(fast.notAfter.getTime(), reference.notAfter.getTime(), `${what}: notAfter`);
}

Deno.test("readCertificateFields: ca-rotator's RSA and ECDSA CAs and a leaf of each", async () => {
  for (const keyType of ["rsa-2048", "ecdsa-p256"] as const) {
    const ca = await generateCa({ keyType });
    assertSameFields(ca.certPem, `${keyType} CA`);
    const leaf = await issueCertificate({
      ca,
      commonName: "system:node:worker-1",
      organizations: ["system:nodes"],
    });
    assertSameFields(leaf.certPem, `${keyType} leaf`);
    const fields = readCertificateFieldsPem(leaf.certPem);
    assert.equal(fields.subject, "O=system:nodes, CN=system:node:worker-1");
    assert.deepEqual(fields.subjectCommonNames, ["system:node:worker-1"]);
    assert.equal(fields.authorityKeyId, readCertificateFieldsPem(ca.certPem).subjectKeyId);
    assert.equal(certificateSha256(fields), await fingerprint(leaf.cert));
  }
});

Deno.test({
  name: "readCertificateFields: openssl's certificates — no key ids, v1, chains, odd names",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    // an RSA root (openssl's default key ids), an intermediate under it, a leaf under that
    await dir.run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "root.key",
      "-out",
      "root.crt",
      "-subj",
      "/C=DE/O=Example, Inc./CN=kubernetes",
      "-days",
      "3650",
    ); // deno-fmt-ignore
    await dir.write(
      "ca.ext",
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n" +
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    await dir.run(
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-384",
      "-nodes",
      "-keyout",
      "mid.key",
      "-out",
      "mid.csr",
      "-subj",
      "/CN=intermediate",
    ); // deno-fmt-ignore
    await dir.run(
      "x509", "-req", "-in", "mid.csr", "-CA", "root.crt", "-CAkey", "root.key",
      "-set_serial", "0x80aa", "-days", "1825", "-extfile", "ca.ext", "-out", "mid.crt",
    ); // deno-fmt-ignore
    // a leaf without any extension (a v1 certificate: no version, no key ids), valid past 2050
    // (GeneralizedTime), with escaped, multi-valued and non-ASCII names
    await dir.run(
      "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-utf8",
      "-multivalue-rdn", "-keyout", "leaf.key", "-out", "leaf.csr",
      "-subj", "/O=system:nodes/O=a\\, b;c/CN=#w\u00f6rker \"1\" +OU=x<y>",
    ); // deno-fmt-ignore
    await dir.run(
      "x509", "-req", "-in", "leaf.csr", "-CA", "mid.crt", "-CAkey", "mid.key",
      "-set_serial", "1", "-days", "36500", "-out", "leaf.crt",
    ); // deno-fmt-ignore
    // an ECDSA CA without a subjectKeyIdentifier, and a leaf of it with serial 0
    await dir.run(
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", "noski.key", "-out", "noski.crt", "-subj", "/CN=noski", "-days", "30",
      "-addext", "subjectKeyIdentifier=none", "-addext", "basicConstraints=critical,CA:TRUE",
    ); // deno-fmt-ignore
    await dir.run(
      "x509", "-req", "-in", "mid.csr", "-CA", "noski.crt", "-CAkey", "noski.key",
      "-set_serial", "0", "-days", "3", "-out", "under-noski.crt",
    ); // deno-fmt-ignore
    const chain = await dir.read("leaf.crt") + await dir.read("mid.crt") +
      await dir.read("root.crt");
    for (const [i, block] of decodePem(chain).entries()) {
      assertSameFields(
        `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...block.der))}\n` +
          "-----END CERTIFICATE-----\n",
        `chain[${i}]`,
      );
    }
    for (const name of ["root", "mid", "leaf", "noski", "under-noski"]) {
      assertSameFields(await dir.read(`${name}.crt`), name);
    }
    const leaf = readCertificateFieldsPem(await dir.read("leaf.crt"));
    assert.equal(leaf.authorityKeyId, undefined);
    assert.equal(leaf.subjectKeyId, undefined);
    assert.ok(leaf.notAfter.getUTCFullYear() > 2100);
    assert.match(leaf.subject, /w\u00f6rker/);
    assert.equal(readCertificateFieldsPem(await dir.read("mid.crt")).serialNumber, "80aa");
    assert.equal(readCertificateFieldsPem(await dir.read("noski.crt")).subjectKeyId, undefined);
  },
});

Deno.test("readCertificateFields rejects malformed DER with the field and offset", async () => {
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  const der = decodePem(ca.certPem)[0].der;
  const cases: [Uint8Array, RegExp][] = [
    [der.subarray(0, der.length - 10), /Certificate: \d+ bytes of contents at offset 0 run past/],
    [Uint8Array.of(...der, 0), /Certificate: 1 bytes after its end/],
    [Uint8Array.of(0x30, 0x80, ...der.subarray(4), 0, 0), /indefinite length at offset 0/],
    [Uint8Array.of(0x31, ...der.subarray(1)), /Certificate: expected tag 0x30 at offset 0/],
    [new Uint8Array(0), /Certificate: missing at offset 0/],
    [new TextEncoder().encode("not a certificate"), /expected tag 0x30 at offset 0, found 0x6e/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => readCertificateFields(bytes, "test.crt"),
      (error: Error) => {
        assert.match(error.message, /^Cannot read test\.crt: not a DER X\.509 certificate: /);
        assert.match(error.message, message);
        return true;
      },
    );
  }
  // a serial number that is not an INTEGER, deep inside
  const broken = Uint8Array.from(der);
  const version = [0xa0, 0x03, 0x02, 0x01, 0x02]; // [0] EXPLICIT INTEGER 2 (v3), then the serial
  const serialAt = broken.findIndex((_, i) => version.every((b, j) => broken[i + j] === b)) + 5;
  assert.equal(broken[serialAt], 0x02);
  broken[serialAt] = 0x04;
  assert.throws(() => readCertificateFields(broken), /serialNumber: not an INTEGER at offset/);
  assert.throws(() => readCertificateFieldsPem("no PEM here", "x.pem"), /no CERTIFICATE block/);
});
