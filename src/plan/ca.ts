/**
 * The certificate authorities a plan can rotate and the files that hold them.
 * @module
 */
import { z } from "zod";
import { nonEmpty, positiveInt } from "./fields.ts";

/**
 * The CAs a plan can rotate: the cluster CA, the front-proxy (request-header) CA and the CA of a
 * stacked etcd (its members' server and peer certificates, the API server's etcd client).
 */
export const CA_NAMES = ["cluster", "frontProxy", "etcd"] as const;

/** One rotatable CA. */
export type CaName = typeof CA_NAMES[number];

/**
 * The base name of a CA's files in the PKI directory, as kubeadm names them: `ca` for the
 * cluster CA (`ca.crt`, `ca.key`), `front-proxy-ca` for the front-proxy CA, `etcd/ca` for the
 * etcd CA. The staged new CA is `<base>-new.crt`/`.key` and the bundle (old + new) is
 * `<base>-bundle.crt`.
 */
export function caFileBase(ca: CaName): "ca" | "front-proxy-ca" | "etcd/ca" {
  return ca === "cluster" ? "ca" : ca === "frontProxy" ? "front-proxy-ca" : "etcd/ca";
}

/** Which CA certificates a file or object should hold: both (`bundle`) or only the new one. */
export const TRUST_SETS = ["bundle", "new"] as const;

/** `bundle` (old + new CA) or `new` (the new CA only). */
export type TrustSet = typeof TRUST_SETS[number];

const algorithm = z.enum(["ecdsa-p256", "rsa-2048", "rsa-4096"]);

function caSource(commonName: string) {
  return z.discriminatedUnion("source", [
    z.strictObject({
      /** Generated once by ca-rotator and kept in a Secret, so a resumed run reuses it. */
      source: z.literal("generate"),
      algorithm: algorithm.default("ecdsa-p256"),
      commonName: nonEmpty.default(commonName),
      validityDays: positiveInt.default(3650),
    }),
    z.strictObject({
      /** Read from files; relative paths are relative to the plan file. */
      source: z.literal("files"),
      cert: nonEmpty,
      key: nonEmpty,
    }),
  ]);
}

/** Where a new CA comes from: `generate` (with algorithm, CN, validity) or `files`. */
export const CaSourceSchema = caSource("kubernetes");

/** A new CA's source. */
export type CaSource = z.infer<typeof CaSourceSchema>;

/** The `cas` section: the CAs this plan rotates and where each new CA comes from. */
export const CasSchema = z.strictObject({
  cluster: caSource("kubernetes").optional(),
  frontProxy: caSource("front-proxy-ca").optional(),
  etcd: caSource("etcd-ca").optional(),
}).refine(
  (cas) => cas.cluster !== undefined || cas.frontProxy !== undefined || cas.etcd !== undefined,
  "must declare at least one CA (cluster, frontProxy, etcd)",
);
