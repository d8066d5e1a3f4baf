/**
 * `activate-ca`: the staged new CA becomes `<base>.crt`/`<base>.key` on every control-plane
 * node, so whatever signs with those files (the controller-manager's
 * `--cluster-signing-cert-file`) signs with the new CA once restarted.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import {
  keyMatchesCertificate,
  parseCertificate,
  parsePrivateKey,
  sameCertificates,
} from "../pki/mod.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { stepBase } from "../plan/step_format.ts";
import { caField } from "./_step_fields.ts";
import { caPaths } from "../plan/node_paths.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { reissueKubeletClients } from "./reissue_kubelet_clients.ts";

/**
 * `activate-ca` parameters: the staged new CA becomes `<base>.crt`/`<base>.key` on every
 * control-plane node.
 */
export const ActivateCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("activate-ca"),
  ca: caField,
});

type Step = z.infer<typeof ActivateCaStep>;

/** The activate-ca step kind. */
export const activateCa = defineStepKind<Step, DesiredFile[]>({
  kind: "activate-ca",
  schema: ActivateCaStep,
  undo: { by: [restoreControlPlane, reissueKubeletClients] },
  drift: {
    hold:
      "a CA certificate or key that changed after the new CA became the signer was put there by someone: overwriting the signer could discard their CA; an operator decides",
  },
  phases: ["switch"],
  needsEarlier: ["distribute-ca"],

  async observe(ctx, step) {
    const paths = caPaths(ctx.layout, step.ca);
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
    const paths = caPaths(ctx.layout, step.ca);
    const pair = ctx.cas.get(step.ca);
    const newCa = parseCertificate(pair.certPem, `new ${step.ca} CA`);
    for (const node of ctx.controlPlane) {
      const cert = await node.readFile(paths.cert);
      const where = `${node.name}:${paths.cert}`;
      if (cert === undefined || !(await sameCertificates(cert, pair.certPem, where))) {
        throw new Error(`${node.name}: ${paths.cert} is not the new CA`);
      }
      // What signs is the pair: a new certificate beside the old key signs nothing valid.
      const key = await node.readFile(paths.key);
      if (key === undefined) throw new Error(`${node.name}: ${paths.key} is missing`);
      const { privateKey } = await parsePrivateKey(key, `${node.name}:${paths.key}`);
      if (!(await keyMatchesCertificate(privateKey, newCa))) {
        throw new Error(
          `${node.name}: ${paths.key} is not the new CA's key (it does not match ${paths.cert})`,
        );
      }
    }
  },
});
