/**
 * Loads `@peculiar/x509` the one way every PKI module must: `reflect-metadata` first, then the
 * library, with Web Crypto installed as its crypto provider. Import `x509` from here, never from
 * `@peculiar/x509` directly, so the order is always right.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
