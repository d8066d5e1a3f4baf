/**
 * `distribute-ca`: stages the new CA certificate and key on every control-plane node and writes
 * the bundle (old + new) beside them, so that everything can trust both CAs.
 * @module
 */
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import {
  encodeBundle,
  fingerprintsOf,
  holdsCertificates,
  parseCertificates,
  sameCertificates,
} from "../pki/mod.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { stepBase } from "../plan/step_format.ts";
import { caField } from "./_step_fields.ts";
import { type CaPaths, caPaths } from "../plan/node_paths.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";

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

/** Whether `pem` holds a certificate that is not one of `others`'s. */
async function holdsOtherThan(pem: string, others: string, source: string): Promise<boolean> {
  const excluded = new Set(await fingerprintsOf(others));
  return (await fingerprintsOf(pem, source)).some((print) => !excluded.has(print));
}

/**
 * The bundle a node should hold: the old CA and the new one. Before activate-ca the old CA is
 * `<base>.crt`: a bundle that already holds it and the new CA is kept as it is, else it is built
 * from `<base>.crt` and the new CA. Once activate-ca has made the new CA `<base>.crt`, the old
 * CA is only in the bundle: the bundle is kept (the new CA added, if it lacks it); a node whose
 * bundle is gone, or holds nothing but the new CA, is refused: never a bundle without the old CA.
 */
async function desiredBundle(
  node: string,
  paths: CaPaths,
  current: string,
  bundle: string | undefined,
  newCa: string,
): Promise<string> {
  const certWhere = `${node}:${paths.cert}`;
  const where = `${node}:${paths.bundle}`;
  const activated = await sameCertificates(current, newCa, certWhere);
  if (!activated) {
    if (
      bundle !== undefined && await holdsCertificates(bundle, newCa, where) &&
      await holdsCertificates(bundle, current, where)
    ) {
      return bundle;
    }
    return encodeBundle([...parseCertificates(current, certWhere), ...parseCertificates(newCa)]);
  }
  if (bundle === undefined || !(await holdsOtherThan(bundle, newCa, where))) {
    throw new Error(
      `${node}: ${paths.cert} is already the new CA and ${paths.bundle} ` +
        `${bundle === undefined ? "is missing" : "holds no other CA"}: the old CA cannot be ` +
        `rebuilt from ${paths.cert} (restore ${paths.bundle} from the backups)`,
    );
  }
  if (await holdsCertificates(bundle, newCa, where)) return bundle;
  return encodeBundle([...parseCertificates(bundle, where), ...parseCertificates(newCa)]);
}

/** The distribute-ca step kind. */
export const distributeCa = defineStepKind<Step, DesiredFile[]>({
  kind: "distribute-ca",
  schema: DistributeCaStep,
  undo: { by: [restoreControlPlane] },
  drift: {
    reapply:
      "it rewrites the staged CA files and the bundle (old + new), which no reader takes in before a later restart; the same certificates every time",
    // Once finalize removed the bundle and the staged copies, they are meant to be gone.
    endedBy: ["remove-old-ca"],
  },
  phases: ["trust"],

  async observe(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
    const pair = ctx.cas.get(step.ca);
    // Nodes are read in parallel (bounded); the files keep the nodes' order.
    const perNode = await mapBounded(ctx.controlPlane, NODE_PARALLELISM, async (node) => {
      const files: DesiredFile[] = [];
      const current = await node.readFile(paths.cert);
      if (current === undefined) throw new Error(`${node.name}: ${paths.cert} is missing`);
      const read = (path: string) => node.readFile(path);
      const bundle = await read(paths.bundle);
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
          current: bundle,
          desired: await desiredBundle(node.name, paths, current, bundle, pair.certPem),
          reason: "old and new CA, trusted together until finalize",
        },
      );
      return files;
    });
    const files = perNode.flat();
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
      // The old CA: `<base>.crt` until activate-ca, some other CA than the new one after.
      const current = await node.readFile(paths.cert);
      const old = current !== undefined &&
          !(await sameCertificates(current, newCa, `${node.name}:${paths.cert}`))
        ? current
        : undefined;
      const holdsOld = old !== undefined
        ? await holdsCertificates(bundle, old, where)
        : await holdsOtherThan(bundle, newCa, where);
      if (!holdsOld) throw new Error(`${node.name}: ${paths.bundle} does not hold the old CA`);
    }
  },
});
