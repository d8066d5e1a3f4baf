/**
 * A minimal reader of DER elements (ITU-T X.690): the tag, length and place of one element at a
 * time, without building an object model — for the few fields the kubelet verifier reads from
 * thousands of certificates (`certificate_fields.ts`). Every length is checked against the
 * element that encloses it; what DER forbids or the reader does not need (indefinite lengths,
 * multi-byte tags, lengths over 4 bytes) is rejected with an error naming the field and offset.
 * @module
 */

/** One DER element inside a byte array: offsets of its identifier octet, contents and end. */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number), e.g. `0x30` for SEQUENCE. */
  readonly tag: number;
  /** The offset of the identifier octet. */
  readonly start: number;
  /** The offset of the first contents octet. */
  readonly contentStart: number;
  /** The offset just past the contents. */
  readonly end: number;
}

/** The identifier octets of the universal types a certificate's fields use. */
export const DER_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OBJECT_IDENTIFIER: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Malformed or unsupported DER, with the field and offset where reading stopped. */
export class DerError extends Error {
  override name = "DerError";
}

/**
 * The element at `offset`, which must end by `limit` (the end of the enclosing element).
 * @throws {DerError} when it is truncated, runs past `limit` or uses an encoding DER forbids.
 */
export function readElement(
  der: Uint8Array,
  offset: number,
  limit: number,
  field: string,
): DerElement {
  if (offset >= limit) throw new DerError(`${field}: missing at offset ${offset}`);
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) {
    throw new DerError(`${field}: multi-byte tag at offset ${offset} is not supported`);
  }
  let pos = offset + 1;
  if (pos >= limit) throw new DerError(`${field}: truncated at offset ${offset} (no length)`);
  let length = der[pos++];
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) {
      throw new DerError(`${field}: indefinite length at offset ${offset} (BER, not DER)`);
    }
    if (count > 4) throw new DerError(`${field}: length of ${count} bytes at offset ${offset}`);
    if (pos + count > limit) throw new DerError(`${field}: truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[pos++];
  }
  const end = pos + length;
  if (end > limit) {
    throw new DerError(
      `${field}: ${length} bytes of contents at offset ${offset} run past the end (${limit})`,
    );
  }
  return { tag, start: offset, contentStart: pos, end };
}

/**
 * The element at `offset` (ending by `limit`), which must have identifier octet `tag`.
 * @throws {DerError} as {@link readElement}, and when the tag differs.
 */
export function expectElement(
  der: Uint8Array,
  offset: number,
  limit: number,
  tag: number,
  field: string,
): DerElement {
  if (offset < limit && der[offset] !== tag) {
    throw new DerError(
      `${field}: expected tag 0x${hex2(tag)} at offset ${offset}, found 0x${hex2(der[offset])}`,
    );
  }
  return readElement(der, offset, limit, field);
}

/**
 * The elements inside the constructed element `parent`, in order; they must fill it exactly.
 * @throws {DerError} when one of them is malformed.
 */
export function childElements(der: Uint8Array, parent: DerElement, field: string): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = readElement(der, offset, parent.end, `${field}[${children.length}]`);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The contents octets of `element`, without copying. */
export function contents(der: Uint8Array, element: DerElement): Uint8Array {
  return der.subarray(element.contentStart, element.end);
}

/** The whole encoding of `element` (identifier, length and contents), without copying. */
export function encoding(der: Uint8Array, element: DerElement): Uint8Array {
  return der.subarray(element.start, element.end);
}

/**
 * The dotted form of an OBJECT IDENTIFIER element, e.g. `2.5.4.3`.
 * @throws {DerError} when it is empty or its last arc is unterminated.
 */
export function decodeObjectIdentifier(
  der: Uint8Array,
  element: DerElement,
  field: string,
): string {
  if (element.end === element.contentStart) throw new DerError(`${field}: empty OID`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = element.contentStart; i < element.end; i++) {
    value = value * 128 + (der[i] & 0x7f);
    if (der[i] & 0x80) continue;
    if (arcs.length === 0) {
      const first = value < 40 ? 0 : value < 80 ? 1 : 2;
      arcs.push(first, value - first * 40);
    } else arcs.push(value);
    value = 0;
  }
  if (der[element.end - 1] & 0x80) throw new DerError(`${field}: OID ends inside an arc`);
  return arcs.join(".");
}

/** Bytes as lowercase hex, as `@peculiar/x509` prints serial numbers and key identifiers. */
export function hexOf(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]];
  return text;
}

/** Whether two byte ranges hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex2(byte: number): string {
  return HEX[byte];
}
