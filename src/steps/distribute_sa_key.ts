/**
 * `distribute-sa-key`: stages a new service-account signing key pair on every control-plane node
 * (`sa-new.key`, 0600, and `sa-new.pub`) and writes the bundle `sa-bundle.pub` (the old public
 * key and the new one), which the API servers' `--service-account-key-file` then points at, so
 * that every API server accepts tokens of either key before any signs with the new one.
 *
 * The new key is generated once and kept only on the nodes: a resumed run reads it from the first
 * node that holds it staged, so no Secret (nor etcd) ever holds it. A key given as a file
 * (`key:`, relative to the plan) is checked before the run changes anything (src/state/
 * given_sa_key.ts).
 * @module
 */
import { z } from "zod";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import {
  generateServiceAccountKey,
  publicKeyBundle,
  publicKeyIds,
  SERVICE_ACCOUNT_KEY_TYPES,
  type ServiceAccountKeyPair,
  serviceAccountKeyPair,
} from "../pki/mod.ts";
import { nonEmpty } from "../plan/fields.ts";
import { serviceAccountKeyPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import { controlPlaneFileChanges, type DesiredFile } from "./file_changes.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { readGivenServiceAccountKey } from "./_given_sa_key.ts";

/**
 * `distribute-sa-key` parameters: where the new signing key comes from: generated
 * (`algorithm`, default rsa-2048, as kubeadm's) or a given private key file (`key`).
 */
export const DistributeSaKeyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("distribute-sa-key"),
  /** The type of the generated key (not with `key`). */
  algorithm: z.enum(SERVICE_ACCOUNT_KEY_TYPES).optional(),
  /** A given private key file (PEM), relative to the plan file. */
  key: nonEmpty.optional(),
});

type Step = z.infer<typeof DistributeSaKeyStep>;

/**
 * The new key pair: the given file; else the one staged on the first node that holds one (a
 * resumed run); else a new one.
 */
async function newKeyPair(
  ctx: StepContext,
  step: Step,
  staged: readonly (string | undefined)[],
): Promise<ServiceAccountKeyPair> {
  if (step.key !== undefined) return await readGivenServiceAccountKey(ctx.planDir, step);
  const paths = serviceAccountKeyPaths(ctx.layout);
  const index = staged.findIndex((key) => key !== undefined);
  if (index >= 0) {
    return await serviceAccountKeyPair(
      staged[index]!,
      `${ctx.controlPlane[index].name}:${paths.newKey}`,
    );
  }
  return await generateServiceAccountKey(step.algorithm ?? "rsa-2048");
}

/**
 * The bundle a node should hold: its current one when that already holds the old keys and the
 * new one, else the old public keys of `sa.pub` and the new key. A node whose `sa.pub` is
 * already the new key alone (activate-sa-key ran) keeps its bundle or is refused.
 */
async function desiredBundle(
  node: string,
  pub: string,
  bundle: string | undefined,
  pair: ServiceAccountKeyPair,
  paths: ReturnType<typeof serviceAccountKeyPaths>,
): Promise<string> {
  const oldIds = await publicKeyIds(pub, `${node}:${paths.pub}`);
  const bundleIds = bundle === undefined
    ? []
    : await publicKeyIds(bundle, `${node}:${paths.bundle}`).catch(() => []);
  const activated = oldIds.length === 1 && oldIds[0] === pair.keyId;
  if (activated) {
    if (bundle !== undefined && bundleIds.some((id) => id !== pair.keyId)) return bundle;
    throw new Error(
      `${node}: ${paths.pub} is already the new key and ${paths.bundle} ` +
        `${bundle === undefined ? "is missing" : "holds no other key"}: the old key cannot be ` +
        `rebuilt (restore ${paths.bundle} from the backups)`,
    );
  }
  const wanted = [...oldIds, pair.keyId];
  if (bundle !== undefined && wanted.every((id) => bundleIds.includes(id))) return bundle;
  return await publicKeyBundle([pub, pair.publicPem], `${node}:${paths.pub}`);
}

/** The distribute-sa-key step kind. */
export const distributeSaKey = defineStepKind<Step, DesiredFile[]>({
  kind: "distribute-sa-key",
  schema: DistributeSaKeyStep,
  undo: { by: [restoreControlPlane] },
  drift: {
    reapply:
      "it rewrites the staged key pair and the public-key bundle (old + new), the same key every time; the API servers read the bundle only when they restart",
    // Once finalize made the new pair sa.key/sa.pub and removed the staged files.
    endedBy: ["remove-old-sa-key"],
  },
  phases: ["trust"],
  rules: (step) =>
    step.key !== undefined && step.algorithm !== undefined
      ? [{ path: ["algorithm"], message: "give either key (a file) or algorithm, not both" }]
      : [],

  async observe(ctx, step) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    const read = await mapBounded(ctx.controlPlane, NODE_PARALLELISM, async (node) => ({
      node: node.name,
      pub: await node.readFile(paths.pub),
      newKey: await node.readFile(paths.newKey),
      newPub: await node.readFile(paths.newPub),
      bundle: await node.readFile(paths.bundle),
    }));
    const pair = await newKeyPair(ctx, step, read.map((each) => each.newKey));
    const files: DesiredFile[] = [];
    for (const { node, pub, newKey, newPub, bundle } of read) {
      if (pub === undefined) throw new Error(`${node}: ${paths.pub} is missing`);
      files.push(
        {
          node,
          path: paths.newKey,
          current: newKey,
          desired: pair.keyPem,
          mode: 0o600,
          sensitive: true,
          reason: "the new service-account signing key, staged",
        },
        {
          node,
          path: paths.newPub,
          current: newPub,
          desired: pair.publicPem,
          reason: `its public key (kid ${pair.keyId})`,
        },
        {
          node,
          path: paths.bundle,
          current: bundle,
          desired: await desiredBundle(node, pub, bundle, pair, paths),
          reason: "old and new public key, both verified until finalize",
        },
      );
    }
    return files;
  },

  ...controlPlaneFileChanges,

  async verify(ctx) {
    const paths = serviceAccountKeyPaths(ctx.layout);
    for (const node of ctx.controlPlane) {
      const key = await node.readFile(paths.newKey);
      const bundle = await node.readFile(paths.bundle);
      if (key === undefined || bundle === undefined) {
        throw new Error(`${node.name}: ${paths.newKey} or ${paths.bundle} is missing`);
      }
      const pair = await serviceAccountKeyPair(key, `${node.name}:${paths.newKey}`);
      const ids = await publicKeyIds(bundle, `${node.name}:${paths.bundle}`);
      if (!ids.includes(pair.keyId) || ids.length < 2) {
        throw new Error(`${node.name}: ${paths.bundle} does not hold both the old and the new key`);
      }
    }
  },
});
