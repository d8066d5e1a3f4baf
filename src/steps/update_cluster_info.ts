/**
 * `update-cluster-info`: the kubeconfig in `kube-public/cluster-info` (what `kubeadm join`
 * discovers the cluster through) gets `certificate-authority-data` → the bundle or the new CA.
 * The controller-manager's bootstrap signer re-signs it (`jws-kubeconfig-*`) by itself; verify
 * waits until every signing bootstrap token's signature matches the new content, since
 * `kubeadm join --token` refuses a cluster-info its token's signature does not verify.
 *
 * In the shipped plans cluster-info gets the bundle in the trust phase (a join pinned to either
 * CA's hash then passes discovery, and TLS to an API server serving either chain verifies) and the
 * new CA alone in finalize, once every API server has served the new chain since the switch.
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import type { Change, ObjectTarget } from "../engine/change.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { apiStatus } from "../engine/cluster_api.ts";
import type { TrustSet } from "../plan/ca.ts";
import { trustPem } from "./trust_sets.ts";
import { errorText } from "./_watch_object.ts";
import { stepBase } from "../plan/step_format.ts";
import { trustSetField } from "./_step_fields.ts";
import { positiveInt } from "../plan/fields.ts";
import { waitForBootstrapSignatures } from "./_bootstrap_signatures.ts";
import {
  CLUSTER_INFO,
  type ConfigMap,
  desiredKubeconfig,
  kubeconfigHolds,
  kubeconfigOf,
} from "./_trust_configmaps.ts";
import { restoreClusterTrust } from "./restore_cluster_trust.ts";

/** `update-cluster-info` parameters: `cluster-info` in `kube-public` → the bundle or the new CA. */
export const UpdateClusterInfoStep = z.strictObject({
  ...stepBase,
  kind: z.literal("update-cluster-info"),
  caData: trustSetField,
  /** Tuning: how long to wait for the bootstrap signer to re-sign cluster-info. */
  signatureTimeoutSeconds: positiveInt.default(120),
});

type Step = z.infer<typeof UpdateClusterInfoStep>;

/** What update-cluster-info observes. */
export interface ClusterInfoObserved {
  /** The current `data.kubeconfig`; absent when the ConfigMap does not exist. */
  readonly current?: string;
  /** The kubeconfig holding the wanted CA data (equal to `current` when it already does). */
  readonly desired?: string;
  readonly caData: TrustSet;
}

/** The YAML shown in a diff for a cluster-info kubeconfig: its kubeconfig as a literal block. */
export function clusterInfoYaml(kubeconfig: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: CLUSTER_INFO.name, namespace: CLUSTER_INFO.namespace },
    data: { kubeconfig },
  }, { blockQuote: "literal", lineWidth: 0 });
}

/** Pure: the change to cluster-info, if its kubeconfig does not hold the wanted CA data yet. */
export function clusterInfoChanges(observed: ClusterInfoObserved): Change[] {
  if (observed.current === undefined || observed.desired === undefined) return [];
  if (observed.current === observed.desired) return [];
  const target: ObjectTarget = { type: "object", ...CLUSTER_INFO };
  return [{
    action: "update",
    target,
    before: clusterInfoYaml(observed.current),
    after: clusterInfoYaml(observed.desired),
    reason: observed.caData === "new"
      ? "joining nodes must trust the new CA only"
      : "joining nodes must trust both CAs",
  }];
}

const where = `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`;

async function readClusterInfo(ctx: StepContext): Promise<ConfigMap | undefined> {
  return await ctx.cluster.read<ConfigMap>(CLUSTER_INFO);
}

/** The update-cluster-info step kind. */
export const updateClusterInfo = defineStepKind<Step, ClusterInfoObserved>({
  kind: "update-cluster-info",
  schema: UpdateClusterInfoStep,
  undo: { by: [restoreClusterTrust] },
  drift: { reapply: "one ConfigMap, rewritten with the resourceVersion just read" },
  tuning: ["signatureTimeoutSeconds"],
  trustSetField: "caData",
  cas: () => ["cluster"],

  async observe(ctx, step) {
    const configMap = await readClusterInfo(ctx);
    if (!configMap) {
      ctx.log.warn(`${where} does not exist (not a kubeadm cluster?): nothing to update`);
      return { caData: step.caData };
    }
    const current = kubeconfigOf(configMap);
    const pem = await trustPem(ctx, "cluster", step.caData);
    return { current, desired: await desiredKubeconfig(current, pem), caData: step.caData };
  },

  diff: (observed) => clusterInfoChanges(observed),

  async apply(ctx, step) {
    const pem = await trustPem(ctx, "cluster", step.caData);
    // Re-read on a conflict: the bootstrap signer writes signatures into the same ConfigMap.
    for (let attempt = 1;; attempt++) {
      const configMap = await readClusterInfo(ctx);
      if (!configMap) throw new Error(`${where} disappeared`);
      const current = kubeconfigOf(configMap);
      const desired = await desiredKubeconfig(current, pem);
      if (desired === current) return;
      try {
        await ctx.cluster.replace<ConfigMap>({
          ...configMap,
          apiVersion: "v1",
          kind: "ConfigMap",
          data: { ...configMap.data, kubeconfig: desired },
        });
        return;
      } catch (error) {
        if (apiStatus(error) !== 409 || attempt >= 5) {
          throw new Error(`cannot update ${where}: ${errorText(error)}`);
        }
      }
    }
  },

  async verify(ctx, step) {
    const configMap = await readClusterInfo(ctx);
    if (!configMap) return;
    const pem = await trustPem(ctx, "cluster", step.caData);
    if (!(await kubeconfigHolds(kubeconfigOf(configMap), pem))) {
      throw new Error(
        `${where}: certificate-authority-data does not hold ${
          step.caData === "new" ? "the new CA only" : "the bundle (old + new CA)"
        }`,
      );
    }
    const tokens = await waitForBootstrapSignatures(ctx, step.signatureTimeoutSeconds);
    ctx.log.info(
      `${where}: the bootstrap signer's signatures of ${tokens} bootstrap token(s) match it`,
    );
  },
});
