/**
 * `wait-token-secrets`: waits until the `ca.crt` of every legacy service-account token Secret
 * (`kubernetes.io/service-account-token`) holds exactly the expected CAs — the controller-manager
 * writes its `--root-ca-file` there, as into `kube-root-ca.crt`, once it has restarted — and says
 * who reads them: the pods that mount such a Secret (they read `ca.crt` at start, as from
 * `kube-root-ca.crt`) and the Secrets no pod mounts, whose readers are outside the cluster (a CI
 * system's cluster credentials, an Argo CD cluster Secret) and must read them again. It changes
 * nothing itself. It lists Secrets in every namespace: a role that may (deploy/rbac.yaml leaves it
 * out; README, "Legacy token Secrets").
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { TrustSet } from "../plan/ca.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { trustSetField } from "./_step_fields.ts";
import { trustSetName } from "./_root_ca_configmaps.ts";
import { trustPem } from "./trust_sets.ts";
import { fingerprintsOf } from "../pki/mod.ts";
import {
  listTokenSecrets,
  objectKey,
  type PodVolumes,
  tokenSecretReaders,
} from "./_token_secrets.ts";

/** `wait-token-secrets` parameters. */
export const WaitTokenSecretsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("wait-token-secrets"),
  expect: trustSetField,
  /** Tuning. */
  timeoutSeconds: positiveInt.default(300),
});

type Step = z.infer<typeof WaitTokenSecretsStep>;

/** The token Secrets, who mounts them, and which hold other CAs than expected. */
export interface TokenSecrets {
  /** `namespace/name` of every token Secret. */
  readonly secrets: readonly string[];
  /** `namespace/pod → secret` for every pod that mounts one. */
  readonly mountedBy: readonly string[];
  /** `namespace/name` of the token Secrets no pod mounts. */
  readonly unmounted: readonly string[];
  /** `namespace/name (why)` of those whose `ca.crt` is not the expected set. */
  readonly wrong: readonly string[];
}

async function tokenSecrets(ctx: StepContext, expect: TrustSet): Promise<TokenSecrets> {
  const secrets = await listTokenSecrets(ctx.cluster);
  const names = secrets.map(objectKey).sort();
  const expected = (await fingerprintsOf(await trustPem(ctx, "cluster", expect))).sort();
  const wrong: string[] = [];
  for (const secret of secrets) {
    const data = secret.data?.["ca.crt"];
    const prints = data ? await fingerprintsOf(atob(data)).catch(() => []) : [];
    if (prints.sort().join() !== expected.join()) {
      wrong.push(`${objectKey(secret)} (${data ? "other CAs" : "no ca.crt yet"})`);
    }
  }
  const pods = await ctx.cluster.list<PodVolumes>("v1", "Pod");
  return { secrets: names, ...tokenSecretReaders(names, pods), wrong: wrong.sort() };
}

const listed = (items: readonly string[], limit = 10) =>
  items.slice(0, limit).join(", ") +
  (items.length > limit ? `, … and ${items.length - limit} more` : "");

/** The wait-token-secrets step kind. */
export const waitTokenSecrets = defineStepKind<Step, TokenSecrets>({
  kind: "wait-token-secrets",
  schema: WaitTokenSecretsStep,
  undo: { nothing: "it only waits" },
  drift: { none: "it only waits" },
  tuning: ["timeoutSeconds"],
  trustSetField: "expect",
  cas: () => ["cluster"],

  async observe(ctx, step) {
    const found = await tokenSecrets(ctx, step.expect);
    ctx.log.info(`${found.secrets.length} legacy service-account token Secrets`);
    if (found.mountedBy.length) {
      ctx.log.info(`pods that mount one (they read ca.crt at start): ${listed(found.mountedBy)}`);
    }
    if (found.unmounted.length) {
      ctx.log.warn(
        `token Secrets no pod mounts — read from outside the cluster? Their readers must read ` +
          `ca.crt again after this phase: ${listed(found.unmounted)}`,
      );
    }
    return found;
  },

  diff: () => [],

  apply: () => Promise.resolve(),

  async verify(ctx, step) {
    if (ctx.dryRun) return;
    let last: TokenSecrets | undefined;
    const what = `every token Secret's ca.crt to hold ${trustSetName(step.expect)}`;
    try {
      await ctx.waitFor(what, async () => {
        last = await tokenSecrets(ctx, step.expect);
        return {
          done: last.wrong.length === 0,
          ready: last.secrets.length - last.wrong.length,
          total: last.secrets.length,
        };
      }, step.timeoutSeconds * 1000);
    } catch (error) {
      if (!last || last.wrong.length === 0) throw error;
      throw new Error(
        `after ${step.timeoutSeconds}s, ${last.wrong.length} of ${last.secrets.length} token ` +
          `Secrets' ca.crt do not hold ${trustSetName(step.expect)}: ${listed(last.wrong)} (is ` +
          "kube-controller-manager running with the right --root-ca-file?)",
      );
    }
    ctx.log.info(`every token Secret's ca.crt holds ${trustSetName(step.expect)}`);
  },
});
