/**
 * Field formats shared by the plan schema, each with the message a reader of the plan sees.
 * @module
 */
import { z } from "zod";
import { DurationError, parseDuration } from "./duration.ts";

/** A DNS label (RFC 1123): step ids, plan names. */
export const dnsLabel = z.string().regex(
  /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  "must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
);

/** A Kubernetes node name (a DNS subdomain). */
export const nodeName = z.string().regex(
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  "must be a node name: lowercase letters, digits, '-' and '.'",
).max(253, "must be at most 253 characters");

/** An absolute path on a node. */
export const absolutePath = z.string().regex(/^\//, "must be an absolute path");

/** A positive whole number (batch sizes, timeouts, validity). */
export const positiveInt = z.int("must be a whole number").positive("must be at least 1");

/** A non-empty string. */
export const nonEmpty = z.string().min(1, "must not be empty");

/** An `https://` URL. */
export const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+/, "must be an https:// URL");

/** A namespace name or a glob of one (`*`, `team-*`). */
export const namespacePattern = z.string().regex(
  /^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$/,
  "must be a namespace name or a glob such as team-*",
);

/** A duration such as `10m` or `1.5h` (src/plan/duration.ts), its error named on the field. */
export const durationText = z.string().superRefine((text, ctx) => {
  try {
    parseDuration(text);
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    ctx.addIssue({ code: "custom", input: text, message: error.message });
  }
});
