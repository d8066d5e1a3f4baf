/**
 * `activate-ca`: the staged new CA becomes `<base>.crt`/`<base>.key` on every control-plane
 * node, so whatever signs with those files (the controller-manager's
 * `--cluster-signing-cert-file`) signs with the new CA once restarted.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { caPaths } from "./trust_sets.ts";

type Step = StepOfKind<"activate-ca">;

/** The activate-ca step kind. */
export const activateCa: StepKind<Step, DesiredFile[]> = {
  kind: "activate-ca",

  async observe(ctx, step) {
    const paths = caPaths(ctx.plan.layout.pkiDir, step.ca);
    const pair = ctx.cas.get(step.ca);
    const files: DesiredFile[] = [];
    for (const node of ctx.controlPlane) {
      files.push(
        {
          node: node.name,
          path: paths.cert,
          current: await node.readFile(paths.cert),
          desired: pair.certPem,
          reason: "the new CA becomes the signer",
        },
        {
          node: node.name,
          path: paths.key,
          current: await node.readFile(paths.key),
          desired: pair.keyPem,
          mode: 0o600,
          sensitive: true,
          reason: "the new CA's key becomes the signing key",
        },
      );
    }
    return files;
  },

  ...controlPlaneFileChanges,

  async verify(ctx, step) {
    const paths = caPaths(ctx.plan.layout.pkiDir, step.ca);
    const pair = ctx.cas.get(step.ca);
    for (const node of ctx.controlPlane) {
      if ((await node.readFile(paths.cert)) !== pair.certPem) {
        throw new Error(`${node.name}: ${paths.cert} is not the new CA`);
      }
    }
  },
};
