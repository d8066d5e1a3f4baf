/**
 * PKI helpers for CA rotation: PEM and bundles, private keys in kubeadm's formats, CA
 * generation, leaf re-issue, client certificates, CSRs, chain verification and descriptions.
 * Built on Web Crypto and `@peculiar/x509`; a small DER reader for the fields the kubelet verifier
 * reads from many certificates.
 * @module
 */
export { x509 } from "./crypto_provider.ts";
export * from "./pem.ts";
export * from "./bundle.ts";
export * from "./fingerprint.ts";
export * from "./compare.ts";
export * from "./key_type.ts";
export * from "./private_key.ts";
export * from "./key_match.ts";
export * from "./key_identifier.ts";
export * from "./validity.ts";
export * from "./subject_alt_names.ts";
export * from "./ca.ts";
export * from "./given_ca.ts";
export * from "./issue_certificate.ts";
export * from "./reissue_leaf.ts";
export * from "./verify_chain.ts";
export * from "./csr.ts";
export * from "./describe.ts";
export * from "./key_stand_in.ts";
export * from "./strip_private_keys.ts";
export * from "./discovery_hash.ts";
export * from "./certificate_fields.ts";
export * from "./csr_subject.ts";
export type { DistinguishedName } from "./distinguished_name.ts";
export * from "./service_account_key.ts";
