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
 * controller-manager signs with the new key; the others are named. No token is logged.
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
  lastControllerManagerWrite,
  listTokenSecrets,
  mountedSecrets,
  objectKey,
  type PodVolumes,
  type TokenSecret,
} from "./_token_secrets.ts";
import {
  DEFAULT_TOKEN_SECONDS,
  describeStaleSecretReaders,
  describeStaleTokenPods,
  SECRET_TOKEN_PROPAGATION_SECONDS,
  type SecretTokenReader,
  staleSecretReaders,
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
   * Tuning: how long after a token Secret was re-issued a pod that mounts it surely uses the new
   * token — the kubelet's volume sync (its `--sync-frequency`, 1 min, and jitter) and client-go's
   * next read of the file (1 min). The gate waits that long for such pods; raise it for kubelets
   * that sync less often.
   */
  tokenSecretPropagationSeconds: positiveInt.default(SECRET_TOKEN_PROPAGATION_SECONDS),
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
  const start = pod.status?.startTime;
  const mounted = mountedSecrets(pod);
  const inEnvironment = environmentSecrets(pod);
  if (!start || pod.status?.phase !== "Running") return undefined;
  if (mounted.length === 0 && inEnvironment.length === 0) return undefined;
  return { pod: objectKey(pod), startedAt: new Date(start), mounted, inEnvironment };
}

/** When each token Secret that holds a token of `newId` was last written by the controller-manager. */
function rewrittenAt(secrets: readonly TokenSecret[], newId: string): Map<string, Date> {
  const written = new Map<string, Date>();
  for (const secret of secrets) {
    const token = secret.data?.token;
    const at = lastControllerManagerWrite(secret);
    if (token && at && jwtKeyId(atob(token)) === newId) written.set(objectKey(secret), at);
  }
  return written;
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
  tuning: ["timeoutSeconds", "tokenSecretPropagationSeconds"],
  earlierStepFields: ["signingSwitchedBy"],

  async observe(ctx, step) {
    if (step.reissueTokenSecrets.length === 0) return [];
    const newId = await newKeyId(ctx);
    const secrets = await listTokenSecrets(ctx.cluster);
    const stale = new Set(
      staleTokenSecrets(secretKeys(secrets), newId).filter((secret) => secret.keyId)
        .map((secret) => `${secret.namespace}/${secret.name}`),
    );
    return secrets.filter((secret) => {
      const namespace = secret.metadata?.namespace ?? "";
      return stale.has(`${namespace}/${secret.metadata?.name}`) &&
        step.reissueTokenSecrets.some((pattern) => globMatches(pattern, namespace));
    }).map((secret): Change => ({
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
      reason: "a legacy token signed by the old service-account key",
    }));
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
    const reissued = (secret: TokenSecretKey) =>
      step.reissueTokenSecrets.some((pattern) => globMatches(pattern, secret.namespace));
    let stale: TokenSecretKey[] = [];
    let secrets: TokenSecret[] = [];
    const read = async () => {
      secrets = await listTokenSecrets(ctx.cluster);
      return stale = staleTokenSecrets(secretKeys(secrets), newId);
    };
    await read();
    if (stale.some(reissued)) {
      try {
        await ctx.waitFor(
          "the controller-manager re-issues the token Secrets signed by the old key",
          async () => !(await read()).some(reissued),
          step.timeoutSeconds * 1000,
        );
      } catch {
        throw new Error(
          `after ${step.timeoutSeconds}s these token Secrets hold no token signed by the new ` +
            `key: ${names(stale.filter(reissued))} (does the controller-manager sign with it?)`,
        );
      }
    }
    const since = switchedAt(ctx, step);
    const podObjects = await ctx.cluster.list<TokenPodObject>("v1", "Pod");
    const pods = podObjects.map(tokenPodOf).filter((pod): pod is TokenPod => pod !== undefined);
    const stalePods = staleTokenPods(pods, since, new Date());
    const readers = podObjects.map(secretTokenReaderOf)
      .filter((reader): reader is SecretTokenReader => reader !== undefined);
    const staleReaders = staleSecretReaders(
      readers,
      rewrittenAt(secrets, newId),
      new Date(),
      step.tokenSecretPropagationSeconds,
    );
    const inEnvironment = staleReaders.filter((reader) => !reader.readsNewBy);
    const held = [
      stalePods.length
        ? `${stalePods.length} pods started before every API server signed with the new key ` +
          `(${since.toISOString()}) may still hold a token of the old key: ` +
          `${describeStaleTokenPods(stalePods)}; roll them, or wait`
        : "",
      stale.length
        ? `${stale.length} legacy token Secrets hold a token the old key signed: ${
          names(stale)
        }; ` +
          "list their namespaces under reissueTokenSecrets, or re-create them"
        : "",
      inEnvironment.length
        ? `${inEnvironment.length} pods read a re-issued token Secret into an environment ` +
          `variable before it was re-issued and keep the old token until they restart: ` +
          `${describeStaleSecretReaders(inEnvironment)}; roll them`
        : "",
    ].filter(Boolean);
    if (held.length) throw new GateClosedError(ctx.stepId, held.join(". "));
    const mounting = staleReaders.filter((reader) => reader.readsNewBy);
    if (mounting.length) {
      const until = Math.max(...mounting.map((reader) => reader.readsNewBy!.getTime()));
      ctx.log.info(
        `${mounting.length} pods mount a re-issued token Secret and may use its old token ` +
          `until the kubelet writes the new one and the client reads it ` +
          `(tokenSecretPropagationSeconds: ${step.tokenSecretPropagationSeconds}): ` +
          describeStaleSecretReaders(mounting),
      );
      await ctx.waitFor(
        "the pods that mount re-issued token Secrets use the new token",
        () => {
          const ready = mounting.filter((reader) => reader.readsNewBy!.getTime() <= Date.now());
          const total = mounting.length;
          return Promise.resolve({ done: ready.length === total, ready: ready.length, total });
        },
        until - Date.now() + 60_000,
      );
    }
    ctx.log.info(
      `no token signed by the old key is in use: ${pods.length} pods with a projected token ` +
        "started after the signing switch or refreshed since, every legacy token Secret " +
        `is signed by the new key, and ${readers.length} pods that read token Secrets use ` +
        "their new token",
    );
  },
});
