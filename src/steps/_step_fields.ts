/**
 * Parameter formats several step kinds share, each with the message a reader of the plan sees.
 * @module
 */
import { z } from "zod";
import { CA_NAMES, TRUST_SETS } from "../plan/ca.ts";
import { positiveInt } from "../plan/fields.ts";

/** A `ca` field: which CA the step acts on. */
export const caField = z.enum(CA_NAMES);

/** A trust-set field: `bundle` (old + new CA) or `new`. */
export const trustSetField = z.enum(TRUST_SETS);

/** Tuning: how long to wait for a component to be healthy on each node. */
export const healthTimeoutSeconds = positiveInt.default(120);

/** A command-line flag name. */
export const flagName = z.string().regex(
  /^--[a-z0-9][a-z0-9-]*$/,
  'must be a flag name such as "--client-ca-file"',
);

/** A file on a node: relative to the layout's directory, or absolute. */
export const fileName = z.string().regex(
  /^[^\s]+$/,
  "must be a file name (relative to the layout's directory) or an absolute path",
);

/** A certificate's base name in the PKI directory. */
export const certName = z.string().regex(
  /^([a-z0-9][a-z0-9-]*\/)?[a-z0-9][a-z0-9-]*$/,
  'must be a certificate base name in the PKI directory, such as "apiserver" or "etcd/server" (no .crt)',
);
