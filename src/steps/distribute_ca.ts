/**
 * `distribute-ca`: stages the new CA certificate and key on every control-plane node and writes
 * the bundle (old + new) beside them, so that everything can trust both CAs.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { encodeBundle, holdsCertificates, parseCertificates } from "../pki/mod.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { stepBase } from "../plan/step_format.ts";
import { caField } from "./_step_fields.ts";
import { caPaths } from "../plan/node_paths.ts";

/**
 * `distribute-ca` parameters: stage the new CA certificate and key on every control-plane node
 * (`<pkiDir>/<base>-new.crt`, `.key`, 0600) and write the bundle `<pkiDir>/<base>-bundle.crt`
 * (old + new).
 */
export const DistributeCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("distribute-ca"),
  ca: caField,
});

type Step = z.infer<typeof DistributeCaStep>;

/** The distribute-ca step kind. */
export const distributeCa = defineStepKind<Step, DesiredFile[]>({
  kind: "distribute-ca",
  schema: DistributeCaStep,
  phases: ["trust"],

  async observe(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    const pair = ctx.cas.get(step.ca);
    const files: DesiredFile[] = [];
    for (const node of ctx.controlPlane) {
      const current = await node.readFile(paths.cert);
      if (current === undefined) throw new Error(`${node.name}: ${paths.cert} is missing`);
      const read = (path: string) => node.readFile(path);
      files.push(
        {
          node: node.name,
          path: paths.newCert,
          current: await read(paths.newCert),
          desired: pair.certPem,
          reason: "the new CA, staged",
        },
        {
          node: node.name,
          path: paths.newKey,
          current: await read(paths.newKey),
          desired: pair.keyPem,
          mode: 0o600,
          sensitive: true,
          reason: "the new CA's key, staged",
        },
        {
          node: node.name,
          path: paths.bundle,
          current: await read(paths.bundle),
          desired: encodeBundle([
            ...parseCertificates(current, `${node.name}:${paths.cert}`),
            ...parseCertificates(pair.certPem),
          ]),
          reason: "old and new CA, trusted together until finalize",
        },
      );
    }
    return files;
  },

  ...controlPlaneFileChanges,

  async verify(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    const newCa = ctx.cas.get(step.ca).certPem;
    for (const node of ctx.controlPlane) {
      const bundle = await node.readFile(paths.bundle);
      const where = `${node.name}:${paths.bundle}`;
      if (bundle === undefined || !(await holdsCertificates(bundle, newCa, where))) {
        throw new Error(`${node.name}: ${paths.bundle} does not hold the new CA`);
      }
    }
  },
});
