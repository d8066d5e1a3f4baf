/**
 * The bootstrap signer's signatures of `kube-public/cluster-info`: for every bootstrap token
 * that may sign (`usage-bootstrap-signing: "true"`, not expired), the controller-manager's
 * bootstrapsigner writes `jws-kubeconfig-<token-id>`, a detached JWS of the ConfigMap's
 * kubeconfig. `kubeadm join --token` refuses a cluster-info whose signature for its token does
 * not verify, so after every change of cluster-info each one is checked against the new content.
 * Token secrets are read from the API and never shown: a problem names the token id only.
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import type { StepContext } from "../engine/step.ts";
import { detachedJwsProblem, type JwsProblem } from "../formats/detached_jws.ts";
import { CLUSTER_INFO, type ConfigMap, kubeconfigOf } from "./_trust_configmaps.ts";

/** The Secret type of bootstrap tokens. */
export const BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token";

/** The key prefix of the bootstrap signer's signatures in cluster-info. */
export const SIGNATURE_PREFIX = "jws-kubeconfig-";

/** A Secret as the API returns it: `data` values in base64. */
export interface SecretObject extends KubeObject {
  readonly type?: string;
  readonly data?: Record<string, string>;
}

/** A bootstrap token the bootstrap signer signs cluster-info with. */
export interface SigningToken {
  readonly id: string;
  readonly secret: string;
}

/** A token whose signature does not verify against cluster-info's kubeconfig, and why. */
export interface SignatureProblem {
  readonly tokenId: string;
  readonly problem: JwsProblem | "missing";
}

const decode = (base64: string | undefined) => {
  if (base64 === undefined) return undefined;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
};

/**
 * Pure: the tokens among `secrets` the bootstrap signer signs with at `now` (epoch ms), as
 * `pkg/controller/bootstrap` picks them: type `bootstrap.kubernetes.io/token`, named
 * `bootstrap-token-<token-id>`, `usage-bootstrap-signing: "true"`, not past `expiration`.
 */
export function signingTokens(secrets: readonly SecretObject[], now: number): SigningToken[] {
  const tokens: SigningToken[] = [];
  for (const secret of secrets) {
    if (secret.type !== BOOTSTRAP_TOKEN_TYPE) continue;
    const id = decode(secret.data?.["token-id"]);
    const tokenSecret = decode(secret.data?.["token-secret"]);
    if (!id || !tokenSecret || secret.metadata?.name !== `bootstrap-token-${id}`) continue;
    if (decode(secret.data?.["usage-bootstrap-signing"]) !== "true") continue;
    const expiration = decode(secret.data?.["expiration"]);
    if (expiration && Date.parse(expiration) < now) continue;
    tokens.push({ id, secret: tokenSecret });
  }
  return tokens.sort((a, b) => a.id.localeCompare(b.id));
}

/** Every token whose `jws-kubeconfig-<id>` is missing from `configMap` or does not verify. */
export async function signatureProblems(
  configMap: ConfigMap,
  tokens: readonly SigningToken[],
): Promise<SignatureProblem[]> {
  const kubeconfig = kubeconfigOf(configMap);
  const problems: SignatureProblem[] = [];
  for (const token of tokens) {
    const signature = configMap.data?.[`${SIGNATURE_PREFIX}${token.id}`];
    const problem = signature === undefined
      ? "missing"
      : await detachedJwsProblem(kubeconfig, signature, token.id, token.secret);
    if (problem) problems.push({ tokenId: token.id, problem });
  }
  return problems;
}

/** In words: `token abcdef (signature missing), token 123456 (signature does not match)`. */
export function describeSignatureProblems(problems: readonly SignatureProblem[]): string {
  return problems.map(({ tokenId, problem }) =>
    `token ${tokenId} (${
      problem === "missing"
        ? "no signature"
        : problem === "signature"
        ? "the signature does not match the kubeconfig"
        : `signature ${problem} wrong`
    })`
  ).join(", ");
}

/**
 * Waits until the bootstrap signer has signed cluster-info's current kubeconfig for every
 * signing token (it re-signs after each change), or throws after `timeoutSeconds` naming each
 * token id whose signature is missing or stale. Returns how many tokens were checked.
 */
export async function waitForBootstrapSignatures(
  ctx: StepContext,
  timeoutSeconds: number,
): Promise<number> {
  const where = `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`;
  let tokens: SigningToken[] = [];
  let problems: SignatureProblem[] = [];
  try {
    await ctx.waitFor(
      `the bootstrap signer to sign ${where} for every bootstrap token`,
      async () => {
        const secrets = await ctx.cluster.list<SecretObject>("v1", "Secret", {
          namespace: "kube-system",
          fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}`,
        });
        tokens = signingTokens(secrets, Date.now());
        const configMap = await ctx.cluster.read<ConfigMap>(CLUSTER_INFO);
        if (!configMap) throw new Error(`${where} disappeared`);
        problems = await signatureProblems(configMap, tokens);
        return {
          done: problems.length === 0,
          ready: tokens.length - problems.length,
          total: tokens.length,
        };
      },
      timeoutSeconds * 1000,
    );
  } catch (error) {
    if (problems.length === 0) throw error;
    throw new Error(
      `after ${timeoutSeconds}s, ${where} is not signed for its new content: ` +
        `${describeSignatureProblems(problems)}; kubeadm join with these tokens fails (is ` +
        "kube-controller-manager running with the bootstrapsigner controller?)",
    );
  }
  return tokens.length;
}
