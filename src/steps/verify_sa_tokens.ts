/**
 * `verify-sa-tokens`: the gate before the old service-account key is removed. It holds (exit 3)
 * while a token signed by the old key can still be in use: a running pod with a projected token
 * that started before every API server signed with the new key (the step `signingSwitchedBy`
 * names finished), until the kubelet has surely refreshed that token (src/steps/
 * _sa_token_use.ts) — roll such pods to pass sooner — and a legacy token Secret whose token the
 * old key signed. The controller-manager's tokens controller gives a token Secret without a token
 * a new one, signed with its `--service-account-private-key-file`
 * (k8s.io/kubernetes pkg/controller/serviceaccount/tokens_controller.go): in the namespaces of
 * `reissueTokenSecrets` the gate removes the old token so that it does, once the
 * controller-manager signs with the new key; the others are named. Re-issuing ends the old token
 * at once (the API server accepts a legacy token only while its Secret holds it: k8s.io/kubernetes
 * pkg/serviceaccount/legacy.go), so a Secret that a running pod reads is named with its pods and
 * holds the gate, unless `reissueSecretsInUse`. No token is logged.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import type { Change } from "../engine/change.ts";
import { GateClosedError } from "../engine/step_error.ts";
import { jwtKeyId, publicKeyIds } from "../pki/mod.ts";
import { dnsLabel, namespacePattern, positiveInt } from "../plan/fields.ts";
import { serviceAccountKeyPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import { globMatches } from "./_namespace_selection.ts";
import {
  environmentSecrets,
  listTokenSecrets,
  mountedSecrets,
  objectKey,
  type PodVolumes,
  type TokenSecret,
} from "./_token_secrets.ts";
import {
  DEFAULT_TOKEN_SECONDS,
  describeReaders,
  describeStaleTokenPods,
  readersOf,
  type SecretTokenReader,
  staleTokenPods,
  staleTokenSecrets,
  type TokenPod,
  type TokenSecretKey,
} from "./_sa_token_use.ts";

/** `verify-sa-tokens` parameters. */
export const VerifySaTokensStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify-sa-tokens"),
  /** The earlier step after which every API server signs with the new key. */
  signingSwitchedBy: dnsLabel,
  /**
   * Namespaces (globs) whose legacy token Secrets signed by the old key get a new token; those
   * of other namespaces are named and hold the gate. Needs a role that may list and patch
   * Secrets (README, "Legacy token Secrets").
   */
  reissueTokenSecrets: z.array(namespacePattern).default([]),
  /** Tuning: how long to wait for the controller-manager to fill the re-issued Secrets. */
  timeoutSeconds: positiveInt.default(120),
  /**
   * Also re-issue the token Secrets of those namespaces that running pods read (mounted, or in an
   * environment variable). Re-issuing ends the old token at once, and those pods get 401 until
   * they read the new one: the kubelet's next sync of the volume (about a minute), a restart for
   * an environment variable. Off by default: such Secrets are named and hold the gate.
   */
  reissueSecretsInUse: z.boolean().default(false),
});

type Step = z.infer<typeof VerifySaTokensStep>;

/** A pod, as far as its projected token, its Secret volumes and its containers' Secrets go. */
interface TokenPodObject extends KubeObject {
  spec?: Omit<NonNullable<PodVolumes["spec"]>, "volumes"> & {
    volumes?: {
      secret?: { secretName?: string };
      projected?: {
        sources?: {
          secret?: { name?: string };
          serviceAccountToken?: { expirationSeconds?: number };
        }[];
      };
    }[];
  };
  status?: { phase?: string; startTime?: string };
}

/** Pure: the pod's projected-token facts, or undefined when it has no projected token. */
export function tokenPodOf(pod: TokenPodObject): TokenPod | undefined {
  const lifetimes = (pod.spec?.volumes ?? []).flatMap((volume) =>
    (volume.projected?.sources ?? []).filter((source) => source.serviceAccountToken)
      .map((source) => source.serviceAccountToken?.expirationSeconds ?? DEFAULT_TOKEN_SECONDS)
  );
  const start = pod.status?.startTime;
  if (lifetimes.length === 0 || !start || pod.status?.phase !== "Running") return undefined;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    startedAt: new Date(start),
    expirationSeconds: Math.min(...lifetimes),
  };
}

/** Pure: the token Secrets a running pod reads, or undefined when it reads none. */
export function secretTokenReaderOf(pod: TokenPodObject): SecretTokenReader | undefined {
  const secrets = [...new Set([...mountedSecrets(pod), ...environmentSecrets(pod)])];
  if (pod.status?.phase !== "Running" || secrets.length === 0) return undefined;
  return { pod: objectKey(pod), secrets };
}

/** What the gate re-issues, and what it leaves because running pods read it. */
interface Reissue {
  /** The old-key token Secrets of the `reissueTokenSecrets` namespaces it re-issues. */
  readonly secrets: TokenSecret[];
  /** Those it does not, and the running pods that read each (`namespace/name`). */
  readonly inUse: Map<string, string[]>;
  /** The pods that read the Secrets it re-issues, by Secret (only with reissueSecretsInUse). */
  readonly cutOff: Map<string, string[]>;
}

/** Pure: the old-key token Secrets the gate re-issues, given who reads them. */
export function planReissue(
  step: Pick<Step, "reissueTokenSecrets" | "reissueSecretsInUse">,
  secrets: readonly TokenSecret[],
  newId: string,
  readers: readonly SecretTokenReader[],
): Reissue {
  const stale = new Set(
    staleTokenSecrets(secretKeys(secrets), newId).filter((secret) => secret.keyId)
      .map((secret) => `${secret.namespace}/${secret.name}`),
  );
  const candidates = secrets.filter((secret) =>
    stale.has(objectKey(secret)) &&
    step.reissueTokenSecrets.some((pattern) =>
      globMatches(pattern, secret.metadata?.namespace ?? "")
    )
  );
  const read = readersOf(candidates.map(objectKey), readers);
  if (step.reissueSecretsInUse) return { secrets: candidates, inUse: new Map(), cutOff: read };
  return {
    secrets: candidates.filter((secret) => !read.has(objectKey(secret))),
    inUse: read,
    cutOff: new Map(),
  };
}

/** Pure: the running pods of `pods` that read token Secrets. */
function secretTokenReaders(pods: readonly TokenPodObject[]): SecretTokenReader[] {
  return pods.map(secretTokenReaderOf)
    .filter((reader): reader is SecretTokenReader => reader !== undefined);
}

/** Every pod of the cluster. */
function listPods(ctx: StepContext): Promise<TokenPodObject[]> {
  return ctx.cluster.list<TokenPodObject>("v1", "Pod");
}

/** The key id of the new key: sa-new.pub on the first control-plane node. */
async function newKeyId(ctx: StepContext): Promise<string> {
  const paths = serviceAccountKeyPaths(ctx.layout);
  const node = ctx.controlPlane[0];
  const pem = node && await node.readFile(paths.newPub);
  if (!pem) throw new Error(`${node?.name ?? "no control-plane node"}: ${paths.newPub} is missing`);
  return (await publicKeyIds(pem, `${node.name}:${paths.newPub}`))[0];
}

/** The key id of each token Secret's token (never the token). */
function secretKeys(secrets: readonly TokenSecret[]): TokenSecretKey[] {
  return secrets.map((secret) => ({
    namespace: secret.metadata?.namespace ?? "",
    name: secret.metadata?.name ?? "",
    keyId: secret.data?.token ? jwtKeyId(atob(secret.data.token)) : undefined,
  }));
}

const names = (secrets: readonly TokenSecretKey[]) =>
  secrets.map((secret) => `${secret.namespace}/${secret.name}`).join(", ");

/** When every API server signed with the new key; in a dry run, now at the latest. */
function switchedAt(ctx: StepContext, step: Step): Date {
  const at = ctx.stepFinishedAt?.(step.signingSwitchedBy);
  if (at) return at;
  if (ctx.dryRun) return new Date();
  throw new Error(`step "${step.signingSwitchedBy}" (signingSwitchedBy) is not done`);
}

/** The verify-sa-tokens step kind. */
export const verifySaTokens = defineStepKind<Step, Change[]>({
  kind: "verify-sa-tokens",
  schema: VerifySaTokensStep,
  undo: { nothing: "finalize only: a rollback is refused once finalize has begun" },
  drift: { none: "a gate: what it re-issued is not undone by anything but a new token" },
  phases: ["finalize"],
  tuning: ["timeoutSeconds"],
  earlierStepFields: ["signingSwitchedBy"],

  async observe(ctx, step) {
    if (step.reissueTokenSecrets.length === 0) return [];
    const reissue = planReissue(
      step,
      await listTokenSecrets(ctx.cluster),
      await newKeyId(ctx),
      secretTokenReaders(await listPods(ctx)),
    );
    return reissue.secrets.map((secret): Change => {
      const readBy = reissue.cutOff.get(objectKey(secret));
      return {
        action: "update",
        target: {
          type: "object",
          apiVersion: "v1",
          kind: "Secret",
          namespace: secret.metadata?.namespace,
          name: secret.metadata?.name ?? "",
        },
        before: "token: (signed by the old key)\n",
        after: "token: (removed: the controller-manager issues one signed by the new key)\n",
        sensitive: true,
        reason: "a legacy token signed by the old service-account key" +
          (readBy
            ? `; read by ${readBy.join(", ")}, which get 401 until they read the new token ` +
              "(reissueSecretsInUse)"
            : ""),
      };
    });
  },

  diff: (changes) => changes,

  async apply(ctx, _step, changes) {
    for (const change of changes) {
      if (change.target.type !== "object") continue;
      await ctx.cluster.patch(
        {
          apiVersion: "v1",
          kind: "Secret",
          namespace: change.target.namespace,
          name: change.target.name,
        },
        { data: { token: null } },
      );
    }
  },

  async verify(ctx, step) {
    const newId = await newKeyId(ctx);
    const podObjects = await listPods(ctx);
    const readers = secretTokenReaders(podObjects);
    let secrets: TokenSecret[] = [];
    let stale: TokenSecretKey[] = [];
    const read = async () => {
      secrets = await listTokenSecrets(ctx.cluster);
      return stale = staleTokenSecrets(secretKeys(secrets), newId);
    };
    await read();
    const reissued = new Set(planReissue(step, secrets, newId, readers).secrets.map(objectKey));
    const isReissued = (secret: TokenSecretKey) =>
      reissued.has(`${secret.namespace}/${secret.name}`);
    if (stale.some(isReissued)) {
      try {
        await ctx.waitFor(
          "the controller-manager re-issues the token Secrets signed by the old key",
          async () => !(await read()).some(isReissued),
          step.timeoutSeconds * 1000,
        );
      } catch {
        throw new Error(
          `after ${step.timeoutSeconds}s these token Secrets hold no token signed by the new ` +
            `key: ${names(stale.filter(isReissued))} (does the controller-manager sign with it?)`,
        );
      }
    }
    const { inUse } = planReissue(step, secrets, newId, readers);
    const elsewhere = stale.filter((secret) => !inUse.has(`${secret.namespace}/${secret.name}`));
    const since = switchedAt(ctx, step);
    const pods = podObjects.map(tokenPodOf).filter((pod): pod is TokenPod => pod !== undefined);
    const stalePods = staleTokenPods(pods, since, new Date());
    const held = [
      stalePods.length
        ? `${stalePods.length} pods started before every API server signed with the new key ` +
          `(${since.toISOString()}) may still hold a token of the old key: ` +
          `${describeStaleTokenPods(stalePods)}; roll them, or wait`
        : "",
      inUse.size
        ? `${secretsCount(inUse.size)} signed by the old key ${
          inUse.size === 1 ? "is" : "are"
        } read by running pods: ` +
          `${describeReaders(inUse)}; re-issuing one ends its token at once (the API server ` +
          "compares a legacy token with its Secret's), so those pods would get 401 until they " +
          "read the new one: move them to projected tokens, or stop them, and run again — or " +
          "set reissueSecretsInUse to re-issue now and accept that"
        : "",
      elsewhere.length
        ? `${secretsCount(elsewhere.length)} ${
          elsewhere.length === 1 ? "holds" : "hold"
        } a token the old key signed: ${
          names(elsewhere)
        }; list their namespaces under reissueTokenSecrets, or re-create them`
        : "",
    ].filter(Boolean);
    if (held.length) throw new GateClosedError(ctx.stepId, held.join(". "));
    ctx.log.info(
      `no token signed by the old key is in use: ${pods.length} pods with a projected token ` +
        "started after the signing switch or refreshed since, and every legacy token Secret " +
        "is signed by the new key",
    );
  },
});

/** "1 legacy token Secret", "2 legacy token Secrets". */
function secretsCount(count: number): string {
  return `${count} legacy token Secret${count === 1 ? "" : "s"}`;
}
