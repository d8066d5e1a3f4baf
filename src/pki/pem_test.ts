import assert from "node:assert/strict";
import { certificateAndKey, containsPrivateKey, decodePem, encodePem } from "./pem.ts";

Deno.test("decodePem finds blocks among comments, blank lines and CRLF", () => {
  const a = encodePem("CERTIFICATE", new Uint8Array([1, 2, 3, 4, 5]));
  const b = encodePem("RSA PRIVATE KEY", new Uint8Array(100).fill(7));
  const text = `# bundle written by hand\n\n  ${a.replaceAll("\n", "\r\n")}\nsome note\n${b}\n\n`;
  const blocks = decodePem(text);
  assert.deepEqual(blocks.map((x) => x.label), ["CERTIFICATE", "RSA PRIVATE KEY"]);
  assert.deepEqual([...blocks[0].der], [1, 2, 3, 4, 5]);
  assert.equal(blocks[1].der.length, 100);
  assert.ok(blocks[1].der.every((x) => x === 7));
});

Deno.test("decodePem tolerates indented base64 and keeps header lines apart", () => {
  const text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" +
    "DEK-Info: AES-128-CBC,00\n\n   AQID\n   BA==\n-----END RSA PRIVATE KEY-----\n";
  const [block] = decodePem(text);
  assert.deepEqual(block.headers, ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,00"]);
  assert.deepEqual([...block.der], [1, 2, 3, 4]);
});

Deno.test("decodePem returns no block for text without PEM", () => {
  assert.deepEqual(decodePem("nothing here\n"), []);
});

Deno.test("decodePem refuses mismatched labels and bad base64", () => {
  assert.throws(
    () => decodePem("-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n", "x.pem"),
    /Cannot decode x\.pem: PEM block 1 begins "CERTIFICATE" but ends "PRIVATE KEY"/,
  );
  assert.throws(
    () => decodePem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
    /not valid base64/,
  );
  assert.throws(
    () => decodePem("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"),
    /is empty/,
  );
});

Deno.test("encodePem wraps at 64 characters and round-trips", () => {
  const der = crypto.getRandomValues(new Uint8Array(500));
  const pem = encodePem("CERTIFICATE", der);
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
  assert.equal(lines.at(-1), "-----END CERTIFICATE-----");
  assert.ok(lines.slice(1, -2).every((l) => l.length === 64));
  assert.ok(pem.endsWith("\n"));
  assert.deepEqual(decodePem(pem)[0].der, der);
});

Deno.test("containsPrivateKey spots every private key kind and nothing else", () => {
  for (
    const label of [
      "PRIVATE KEY",
      "RSA PRIVATE KEY",
      "EC PRIVATE KEY",
      "ENCRYPTED PRIVATE KEY",
      "OPENSSH PRIVATE KEY",
    ]
  ) {
    const text = `data: |\n  ${encodePem(label, new Uint8Array([1]))}`;
    assert.equal(containsPrivateKey(text), true, label);
  }
  for (const label of ["CERTIFICATE", "PUBLIC KEY", "CERTIFICATE REQUEST", "EC PARAMETERS"]) {
    assert.equal(containsPrivateKey(encodePem(label, new Uint8Array([1]))), false, label);
  }
  assert.equal(containsPrivateKey("private key: none"), false);
});

Deno.test("certificateAndKey takes the first certificate and the first key of a combined file", () => {
  const cert = encodePem("CERTIFICATE", new Uint8Array([1, 2, 3]));
  const other = encodePem("CERTIFICATE", new Uint8Array([9, 9, 9]));
  const key = encodePem("EC PRIVATE KEY", new Uint8Array([4, 5, 6]));
  assert.deepEqual(certificateAndKey(`${cert}${other}${key}`), { certPem: cert, keyPem: key });
  assert.deepEqual(certificateAndKey(cert), { certPem: cert, keyPem: undefined });
  assert.deepEqual(certificateAndKey("not PEM at all"), { certPem: undefined, keyPem: undefined });
  assert.deepEqual(
    certificateAndKey("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"),
    {},
  );
});
