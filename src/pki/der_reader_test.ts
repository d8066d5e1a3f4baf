import assert from "node:assert/strict";
import {
  childElements,
  contents,
  decodeObjectIdentifier,
  DerError,
  expectElement,
  hexOf,
  readElement,
} from "./der_reader.ts";

Deno.test("readElement: short and long lengths, children, contents", () => {
  const long = new Uint8Array(300).fill(7);
  const der = Uint8Array.of(0x30, 0x82, 0x01, 0x32, 0x04, 0x82, 0x01, 0x2c, ...long, 0x05, 0x00);
  const outer = expectElement(der, 0, der.length, 0x30, "outer");
  assert.deepEqual(outer, { tag: 0x30, start: 0, contentStart: 4, end: 310 });
  const [octets, nul] = childElements(der, outer, "outer");
  assert.equal(contents(der, octets).length, 300);
  assert.deepEqual(nul, { tag: 0x05, start: 308, contentStart: 310, end: 310 });
  assert.equal(hexOf(Uint8Array.of(0, 0x0f, 0xff)), "000fff");
});

Deno.test("decodeObjectIdentifier: first arcs and multi-byte arcs", () => {
  const oid = (...bytes: number[]) => {
    const der = Uint8Array.of(0x06, bytes.length, ...bytes);
    return decodeObjectIdentifier(der, readElement(der, 0, der.length, "oid"), "oid");
  };
  assert.equal(oid(0x55, 0x04, 0x03), "2.5.4.3");
  assert.equal(oid(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b), "1.2.840.113549.1.1.11");
  assert.equal(oid(0x09, 0x92, 0x26), "0.9.2342");
  assert.throws(() => oid(0x2a, 0x86), /OID ends inside an arc/);
});

Deno.test("readElement rejects what DER forbids, naming field and offset", () => {
  const cases: [number[], RegExp][] = [
    [[0x30, 0x80, 0x00, 0x00], /x: indefinite length at offset 0/],
    [[0x1f, 0x01, 0x00], /x: multi-byte tag at offset 0/],
    [[0x30, 0x85, 1, 1, 1, 1, 1], /x: length of 5 bytes at offset 0/],
    [[0x30, 0x82, 0x01], /x: truncated length at offset 0/],
    [[0x30, 0x05, 0x00], /x: 5 bytes of contents at offset 0 run past the end \(3\)/],
    [[0x30], /x: truncated at offset 0/],
  ];
  for (const [bytes, message] of cases) {
    const der = Uint8Array.from(bytes);
    assert.throws(() => readElement(der, 0, der.length, "x"), (error: Error) => {
      assert.ok(error instanceof DerError);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(
    () => expectElement(Uint8Array.of(0x31, 0x00), 0, 2, 0x30, "x"),
    /x: expected tag 0x30 at offset 0, found 0x31/,
  );
});
