import assert from "node:assert/strict";
import { readDistinguishedName } from "./distinguished_name.ts";
import { x509 } from "./crypto_provider.ts";

/** The DER of a name `@peculiar/x509` builds from its string form. */
function der(name: string | x509.JsonName): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new x509.Name(name).toArrayBuffer());
}

Deno.test("readDistinguishedName prints names as @peculiar/x509 does", () => {
  for (
    const name of [
      "O=system:nodes, CN=system:node:worker-1",
      "CN=kubernetes",
      "C=DE, ST=Berlin, L=Berlin, O=Example\\, Inc., OU=ops+CN=ca",
      "CN=\\#leading hash, O=trailing space\\ , OU=\\ leading space",
      'CN=a\\+b\\;c\\<d\\>e\\"f\\\\g',
      "E=admin@example.com, DC=example, DC=com, 1.2.3.4=custom",
      "CN=w\u00f6rker",
    ]
  ) {
    const reference = new x509.Name(der(name));
    const read = readDistinguishedName(der(name));
    assert.equal(read.text, reference.toString(), name);
    for (const type of ["CN", "O", "OU", "DC", "E", "1.2.3.4", "unknown"]) {
      assert.deepEqual(read.field(type), reference.getField(type), `${name}: ${type}`);
    }
  }
  assert.deepEqual(
    readDistinguishedName(der([{ CN: ["a\tb"] }])).text,
    new x509.Name(der([{ CN: ["a\tb"] }])).toString(),
  );
});

Deno.test("readDistinguishedName rejects what is not a name", () => {
  assert.throws(
    () => readDistinguishedName(Uint8Array.of(0x31, 0x00), "issuer"),
    /issuer: expected tag 0x30/,
  );
  assert.throws(
    () => readDistinguishedName(Uint8Array.of(0x30, 0x02, 0x30, 0x00), "subject"),
    /subject: an RDN is not a SET/,
  );
});
