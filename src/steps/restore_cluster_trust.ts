/**
 * `restore-cluster-trust` (rollback only), once the node files are back: the API objects that
 * published the new CAs hold the old ones only again — `kube-public/cluster-info` the old cluster
 * CA, `kube-system/extension-apiserver-authentication` no new CA (kube-apiserver merges in every
 * CA it was started with and keeps them) — and it waits until every `kube-root-ca.crt` (which the
 * controller-manager publishes from its restored `--root-ca-file`) holds the old cluster CA only.
 * The old CAs are read from `ca.crt`/`front-proxy-ca.crt` on the first control-plane node. Like
 * update-cluster-info it waits until the bootstrap signer has re-signed cluster-info.
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import type { Change } from "../engine/change.ts";
import { apiStatus, type ObjectRef } from "../engine/cluster_api.ts";
import type { StepContext } from "../engine/step.ts";
import { defineUndoKind } from "../engine/undo.ts";
import { undoFields } from "./_prior_files.ts";
import type { CaName } from "../plan/ca.ts";
import { caPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import {
  encodeBundle,
  fingerprint,
  fingerprintsOf,
  parseCertificates,
  sameCertificates,
} from "../pki/mod.ts";
import {
  AUTHENTICATION_CONFIGMAP,
  CLUSTER_INFO,
  type ConfigMap,
  desiredKubeconfig,
  kubeconfigOf,
} from "./_trust_configmaps.ts";
import { ROOT_CA_CONFIGMAP } from "./_root_ca_configmaps.ts";
import { waitForBootstrapSignatures } from "./_bootstrap_signatures.ts";

/** `restore-cluster-trust` fields. */
export const RestoreClusterTrustStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restore-cluster-trust"),
  ...undoFields,
  timeoutSeconds: z.number().int().positive().default(300),
});

type Step = z.infer<typeof RestoreClusterTrustStep>;

/** Which CA each key of extension-apiserver-authentication holds. */
const AUTHENTICATION_KEYS: readonly { key: string; ca: CaName }[] = [
  { key: "client-ca-file", ca: "cluster" },
  { key: "requestheader-client-ca-file", ca: "frontProxy" },
];

interface Edit {
  readonly ref: ObjectRef;
  readonly current: ConfigMap;
  readonly desired: ConfigMap;
  readonly reason: string;
}

/** The old CA of `ca`, from the first control-plane node; an error while it is the new one. */
async function oldCa(ctx: StepContext, ca: CaName): Promise<string> {
  const node = ctx.controlPlane[0];
  const path = caPaths(ctx.layout, ca).cert;
  const pem = await node.readFile(path);
  if (pem === undefined) throw new Error(`${node.name}: ${path} is missing`);
  if ((await fingerprintsOf(pem)).includes(ctx.cas.get(ca).fingerprint)) {
    throw new Error(`${node.name}: ${path} still holds the new ${ca} CA`);
  }
  return pem;
}

/** The rotating CAs. */
const rotating = (ctx: StepContext) => Object.keys(ctx.cas.fingerprints()) as CaName[];

async function edits(ctx: StepContext): Promise<Edit[]> {
  const found: Edit[] = [];
  const cas = rotating(ctx);
  const info = cas.includes("cluster")
    ? await ctx.cluster.read<ConfigMap>(CLUSTER_INFO)
    : undefined;
  if (info) {
    const current = kubeconfigOf(info);
    const desired = await desiredKubeconfig(current, await oldCa(ctx, "cluster"));
    if (desired !== current) {
      found.push({
        ref: CLUSTER_INFO,
        current: info,
        desired: { ...info, data: { ...info.data, kubeconfig: desired } },
        reason: "joining nodes trust the old CA only again",
      });
    }
  }
  const authentication = await ctx.cluster.read<ConfigMap>(AUTHENTICATION_CONFIGMAP);
  if (authentication?.data) {
    const data = { ...authentication.data };
    for (const { key, ca } of AUTHENTICATION_KEYS) {
      if (!cas.includes(ca) || data[key] === undefined) continue;
      const newPrint = ctx.cas.get(ca).fingerprint;
      const kept = [];
      for (const cert of parseCertificates(data[key])) {
        if (await fingerprint(cert) !== newPrint) kept.push(cert);
      }
      if (kept.length > 0) data[key] = encodeBundle(kept);
    }
    if (AUTHENTICATION_KEYS.some(({ key }) => data[key] !== authentication.data?.[key])) {
      found.push({
        ref: AUTHENTICATION_CONFIGMAP,
        current: authentication,
        desired: { ...authentication, data },
        reason: "aggregated API servers and webhooks accept the old CAs' clients only again",
      });
    }
  }
  return found;
}

const yaml = (object: ConfigMap) =>
  stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: object.metadata?.name, namespace: object.metadata?.namespace },
    data: object.data,
  }, { blockQuote: "literal", lineWidth: 0 });

/** Every namespace's kube-root-ca.crt that does not hold `pem` alone, by namespace. */
async function rootCasNotOld(ctx: StepContext, pem: string): Promise<string[]> {
  const items = await ctx.cluster.list<ConfigMap>("v1", "ConfigMap", {
    fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
  });
  const wrong: string[] = [];
  for (const item of items) {
    const held = item.data?.["ca.crt"];
    if (held === undefined || !(await sameCertificates(held, pem))) {
      wrong.push(item.metadata?.namespace ?? "?");
    }
  }
  return wrong;
}

/** The restore-cluster-trust step kind. */
export const restoreClusterTrust = defineUndoKind<Step, Edit[]>({
  kind: "restore-cluster-trust",
  schema: RestoreClusterTrustStep,
  undoId: "cluster-trust",
  // Once the node files of every phase are back: the old CAs are read from them.
  scope: "rollback",
  undo: { nothing: "it reverts a rotation's writes; a rollback is not rolled back" },

  observe: (ctx) => edits(ctx),

  diff: (found): Change[] =>
    found.map((edit) => ({
      action: "update",
      target: { type: "object", ...edit.ref },
      before: yaml(edit.current),
      after: yaml(edit.desired),
      reason: edit.reason,
    })),

  async apply(ctx) {
    // Re-read on a conflict: the bootstrap signer and kube-apiserver write the same ConfigMaps.
    for (let attempt = 1;; attempt++) {
      try {
        for (const edit of await edits(ctx)) await ctx.cluster.replace(edit.desired);
        return;
      } catch (error) {
        if (apiStatus(error) !== 409 || attempt >= 5) throw error;
      }
    }
  },

  async verify(ctx, step) {
    const left = await edits(ctx);
    if (left.length > 0) {
      throw new Error(
        `${left.map((edit) => `${edit.ref.namespace}/${edit.ref.name}`).join(", ")} ` +
          "still hold a new CA",
      );
    }
    if (!rotating(ctx).includes("cluster")) return;
    if (await ctx.cluster.read<ConfigMap>(CLUSTER_INFO)) {
      await waitForBootstrapSignatures(ctx, step.timeoutSeconds);
    }
    const pem = await oldCa(ctx, "cluster");
    let wrong: string[] = [];
    await ctx.waitFor(
      `every namespace's ${ROOT_CA_CONFIGMAP} to hold the old CA only`,
      async () => (wrong = await rootCasNotOld(ctx, pem)).length === 0,
      step.timeoutSeconds * 1000,
    ).catch((error) => {
      throw new Error(
        `${error instanceof Error ? error.message : error}: not yet in ${
          wrong.slice(0, 10).join(", ")
        }`,
      );
    });
  },
});
