/**
 * The few ASN.1 structures the key codecs need (PKCS#8 PrivateKeyInfo, SEC1 ECPrivateKey) and the
 * certificate schema `certificate_fields.ts` checks its DER reader against, from
 * the `@peculiar/asn1-*` packages that `@peculiar/x509` already depends on (same versions as in
 * deno.lock).
 * @module
 */
import "./crypto_provider.ts";

export { AsnConvert } from "npm:@peculiar/asn1-schema@2.11.1";
export { PrivateKey as Pkcs8PrivateKey, PrivateKeyInfo } from "npm:@peculiar/asn1-pkcs8@2.11.1";
export {
  ECParameters,
  ECPrivateKey,
  id_ecPublicKey,
  id_secp256r1,
  id_secp384r1,
} from "npm:@peculiar/asn1-ecc@2.11.1";
export { id_rsaEncryption } from "npm:@peculiar/asn1-rsa@2.11.1";
export { Certificate as AsnCertificate } from "npm:@peculiar/asn1-x509@2.11.1";
