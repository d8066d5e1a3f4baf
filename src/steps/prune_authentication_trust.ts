/**
 * `prune-authentication-trust`: removes the old CAs from `kube-system/extension-apiserver-
 * authentication`. kube-apiserver merges every client CA (`client-ca-file`) and front-proxy CA
 * (`requestheader-client-ca-file`) it has been started with into that ConfigMap and drops only
 * expired ones, so without this step aggregated API servers and webhooks with delegated
 * authentication keep accepting client certificates of the old CAs after finalize. Runs once every
 * API server has the new CAs only in its flags (kube-apiserver re-adds what its flags hold).
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import type { Change } from "../engine/change.ts";
import { apiStatus } from "../engine/cluster_api.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { CaName } from "../plan/ca.ts";
import { stepBase } from "../plan/step_format.ts";
import { encodeBundle, fingerprint, fingerprintsOf, parseCertificates } from "../pki/mod.ts";
import { errorText } from "./_watch_object.ts";
import { oldCaFingerprints } from "./trust_sets.ts";
import { AUTHENTICATION_CONFIGMAP, type ConfigMap } from "./_trust_configmaps.ts";

/** `prune-authentication-trust` parameters: none but the common ones. */
export const PruneAuthenticationTrustStep = z.strictObject({
  ...stepBase,
  kind: z.literal("prune-authentication-trust"),
});

type Step = z.infer<typeof PruneAuthenticationTrustStep>;

/** Which CA each key of the ConfigMap holds. */
const KEYS: readonly { key: string; ca: CaName }[] = [
  { key: "client-ca-file", ca: "cluster" },
  { key: "requestheader-client-ca-file", ca: "frontProxy" },
];

interface Observed {
  readonly current?: ConfigMap;
  /** The ConfigMap without the old CAs (the same object when none is left). */
  readonly desired?: ConfigMap;
}

/** The fingerprints of the old CA certificates of every rotating CA. */
async function oldCaPrints(ctx: StepContext): Promise<Set<string>> {
  const cas = Object.keys(ctx.cas.fingerprints()) as CaName[];
  return new Set((await Promise.all(cas.map((ca) => oldCaFingerprints(ctx, ca)))).flat());
}

/**
 * The PEM of `pem` without the certificates `old` names; undefined when it holds none of them or
 * nothing else (a key is never emptied).
 */
async function without(pem: string, old: ReadonlySet<string>): Promise<string | undefined> {
  const certs = parseCertificates(pem);
  const kept = [];
  for (const cert of certs) {
    if (!old.has(await fingerprint(cert))) kept.push(cert);
  }
  return kept.length > 0 && kept.length < certs.length ? encodeBundle(kept) : undefined;
}

async function observeConfigMap(ctx: StepContext): Promise<Observed> {
  const current = await ctx.cluster.read<ConfigMap>(AUTHENTICATION_CONFIGMAP);
  if (!current?.data) return {};
  const old = await oldCaPrints(ctx);
  const data = { ...current.data };
  let changed = false;
  for (const { key } of KEYS) {
    if (data[key] === undefined) continue;
    const pruned = await without(data[key], old);
    if (pruned === undefined) continue;
    data[key] = pruned;
    changed = true;
  }
  const object = { ...current, apiVersion: "v1", kind: "ConfigMap" };
  return { current: object, desired: changed ? { ...object, data } : object };
}

const view = (configMap: ConfigMap) =>
  stringify(
    Object.fromEntries(KEYS.map(({ key }) => [key, configMap.data?.[key] ?? null])),
    { lineWidth: 0 },
  );

/** The prune-authentication-trust step kind. */
export const pruneAuthenticationTrust = defineStepKind<Step, Observed>({
  kind: "prune-authentication-trust",
  schema: PruneAuthenticationTrustStep,
  undo: { nothing: "finalize only: a rollback is refused once finalize has begun" },
  drift: { reapply: "one ConfigMap, rewritten (retried on a conflict) without the old CAs" },
  phases: ["finalize"],
  cas: (_step, plan) => KEYS.map(({ ca }) => ca).filter((ca) => plan.cas[ca] !== undefined),

  observe: (ctx) => observeConfigMap(ctx),

  diff: ({ current, desired }): Change[] =>
    current && desired && current !== desired
      ? [{
        action: "update",
        target: { type: "object", ...AUTHENTICATION_CONFIGMAP },
        before: view(current),
        after: view(desired),
        reason: "kube-apiserver keeps every CA it published: the old CAs must be removed",
      }]
      : [],

  async apply(ctx) {
    // kube-apiserver writes the same ConfigMap: re-read and retry on a conflict.
    for (let attempt = 1;; attempt++) {
      const { current, desired } = await observeConfigMap(ctx);
      if (!current || !desired || desired === current) return;
      try {
        await ctx.cluster.replace(desired);
        return;
      } catch (error) {
        if (apiStatus(error) !== 409 || attempt >= 5) {
          throw new Error(
            `cannot update kube-system/${AUTHENTICATION_CONFIGMAP.name}: ${errorText(error)}`,
          );
        }
      }
    }
  },

  async verify(ctx) {
    const old = await oldCaPrints(ctx);
    await ctx.waitFor("the old CAs to stay out of extension-apiserver-authentication", async () => {
      const configMap = await ctx.cluster.read<ConfigMap>(AUTHENTICATION_CONFIGMAP);
      for (const { key } of KEYS) {
        const pem = configMap?.data?.[key];
        if (pem && (await fingerprintsOf(pem)).some((print) => old.has(print))) return false;
      }
      return true;
    }, 60_000);
  },
});
