/**
 * A distinguished name read from its DER encoding, printed exactly as `@peculiar/x509`'s
 * `Name.toString()` prints it (`O=system:nodes, CN=system:node:worker-1`) and with its values by
 * attribute type (as `Name.getField`). Names of ASCII UTF8String, PrintableString and IA5String
 * values — every Kubernetes name — are read directly; any other encoding is handed to
 * `@peculiar/x509`, so the text is the same either way.
 * @module
 */
import { x509 } from "./crypto_provider.ts";
import {
  childElements,
  decodeObjectIdentifier,
  DER_TAG,
  DerError,
  expectElement,
} from "./der_reader.ts";

/** A distinguished name's text and attribute values. */
export interface DistinguishedName {
  /** As `@peculiar/x509` prints it: RDNs joined by `, `, values escaped. */
  readonly text: string;
  /** The values of an attribute type, by short name (`CN`, `O`, …) or dotted OID, in order. */
  field(type: string): string[];
}

/** The short names `@peculiar/x509` prints for attribute types. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "2.5.4.4": "SN",
  "2.5.4.12": "T",
};

const OIDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SHORT_NAMES).map(([oid, name]) => [name, oid]),
);

/**
 * The distinguished name encoded in `der` (a Name: SEQUENCE OF RelativeDistinguishedName).
 * @throws {Error} when `der` is not a Name.
 */
export function readDistinguishedName(der: Uint8Array, field = "name"): DistinguishedName {
  const attributes = fastAttributes(der, field);
  if (!attributes) return viaX509(der);
  const text = attributes
    .map((rdn) =>
      rdn.map(([oid, value]) => `${SHORT_NAMES[oid] ?? oid}=${escape(value)}`).join("+")
    )
    .join(", ");
  return {
    text,
    field: (type) => {
      const oid = OIDS[type] ?? type;
      return attributes.flatMap((rdn) => rdn.filter(([o]) => o === oid).map(([, v]) => v));
    },
  };
}

/**
 * The attributes of a name whose values are all ASCII UTF8String, PrintableString or
 * IA5String; `undefined` for any other value encoding.
 */
function fastAttributes(der: Uint8Array, field: string): [string, string][][] | undefined {
  const name = expectElement(der, 0, der.length, DER_TAG.SEQUENCE, field);
  if (name.end !== der.length) throw new DerError(`${field}: trailing bytes after the name`);
  const rdns: [string, string][][] = [];
  for (const rdn of childElements(der, name, field)) {
    if (rdn.tag !== DER_TAG.SET) throw new DerError(`${field}: an RDN is not a SET`);
    const attributes: [string, string][] = [];
    for (const atv of childElements(der, rdn, field)) {
      if (atv.tag !== DER_TAG.SEQUENCE) {
        throw new DerError(`${field}: an attribute is not a SEQUENCE`);
      }
      const type = expectElement(der, atv.contentStart, atv.end, DER_TAG.OBJECT_IDENTIFIER, field);
      const value = expectElement(der, type.end, atv.end, der[type.end], field);
      if (value.end !== atv.end) return undefined;
      if (
        value.tag !== DER_TAG.UTF8_STRING && value.tag !== DER_TAG.PRINTABLE_STRING &&
        value.tag !== DER_TAG.IA5_STRING
      ) {
        return undefined;
      }
      const bytes = der.subarray(value.contentStart, value.end);
      for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return undefined;
      const text = String.fromCharCode(...bytes);
      // the X.520 attribute types (2.5.4.x) without decoding arcs
      const oid = type.end - type.contentStart === 3 && der[type.contentStart] === 0x55 &&
          der[type.contentStart + 1] === 0x04 && der[type.contentStart + 2] < 0x80
        ? `2.5.4.${der[type.contentStart + 2]}`
        : decodeObjectIdentifier(der, type, field);
      attributes.push([oid, text]);
    }
    rdns.push(attributes);
  }
  return rdns;
}

function viaX509(der: Uint8Array): DistinguishedName {
  const name = new x509.Name(new Uint8Array(der));
  return { text: name.toString(), field: (type) => name.getField(type) };
}

const NEEDS_ESCAPE = /[,+"\\<>;\r\n\t]|^[ #]| $/;

/** `@peculiar/x509`'s escaping of a value in `Name.toString()`, character for character. */
function escape(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value
    .replace(/([,+"\\<>;])/g, "\\$1")
    .replace(/^([ #])/, "\\$1")
    .replace(/([ ]$)/, "\\$1")
    .replace(
      /([\r\n\t])/,
      (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`,
    );
}
