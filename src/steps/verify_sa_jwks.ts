/**
 * `verify-sa-jwks`: every API server, each at its own endpoint (not only through the load
 * balancer), publishes the service-account keys the phase expects in `/openid/v1/jwks` (and
 * answers `/.well-known/openid-configuration`): in trust, the old key and the new one — each API
 * server then accepts tokens of either, and the signing key may switch; after finalize, the new
 * key only. The JWKS lists the keys of `--service-account-key-file` (k8s.io/kubernetes
 * pkg/serviceaccount/openidmetadata.go), by the key id tokens carry as `kid`.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { rawGet } from "../kubelet/raw_request.ts";
import { publicKeyIds } from "../pki/mod.ts";
import { positiveInt } from "../plan/fields.ts";
import { serviceAccountKeyPaths } from "../plan/node_paths.ts";
import { stepBase } from "../plan/step_format.ts";
import { planApiServerEndpoints } from "./_serving_chain.ts";

/** `verify-sa-jwks` parameters: which keys every API server must publish. */
export const VerifySaJwksStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify-sa-jwks"),
  /** `bundle`: the old and the new key (sa-bundle.pub); `new`: only the key of sa.pub. */
  expect: z.enum(["bundle", "new"]),
  /** Tuning: how long to wait until every endpoint publishes them. */
  timeoutSeconds: positiveInt.default(120),
});

type Step = z.infer<typeof VerifySaJwksStep>;

/** What one endpoint publishes, against what it should. */
export interface JwksFinding {
  readonly endpoint: string;
  /** Key ids it lacks. */
  readonly missing: readonly string[];
  /** Key ids it should no longer publish (with `expect: new`). */
  readonly extra: readonly string[];
  /** Why it could not be read. */
  readonly error?: string;
}

/** Pure: the key ids an endpoint lacks or has too many of. */
export function jwksFinding(
  endpoint: string,
  published: readonly string[],
  expected: readonly string[],
  exact: boolean,
): JwksFinding {
  return {
    endpoint,
    missing: expected.filter((id) => !published.includes(id)),
    extra: exact ? published.filter((id) => !expected.includes(id)) : [],
  };
}

/** Pure: one line for a finding, or undefined when the endpoint is right. */
export function describeJwksFinding(finding: JwksFinding): string | undefined {
  if (finding.error) return `${finding.endpoint}: ${finding.error}`;
  const parts = [
    finding.missing.length ? `lacks kid ${finding.missing.join(", ")}` : "",
    finding.extra.length ? `still publishes kid ${finding.extra.join(", ")}` : "",
  ].filter(Boolean);
  return parts.length ? `${finding.endpoint} ${parts.join(" and ")}` : undefined;
}

/** The key ids every API server should publish: those of the bundle, or of sa.pub. */
async function expectedKeyIds(ctx: StepContext, step: Step): Promise<string[]> {
  const paths = serviceAccountKeyPaths(ctx.layout);
  const path = step.expect === "bundle" ? paths.bundle : paths.pub;
  const ids = new Set<string>();
  for (const node of ctx.controlPlane) {
    const pem = await node.readFile(path);
    if (pem === undefined) throw new Error(`${node.name}: ${path} is missing`);
    for (const id of await publicKeyIds(pem, `${node.name}:${path}`)) ids.add(id);
  }
  if (step.expect === "bundle" && ids.size < 2) {
    throw new Error(`${path} holds one key: the bundle of the old and new key is not staged`);
  }
  return [...ids].sort();
}

/** The key ids an endpoint publishes, after checking its discovery document answers. */
async function publishedKeyIds(ctx: StepContext, endpoint: string): Promise<string[]> {
  const config = ctx.cluster.kubeConfig;
  const discovery = await rawGet(config, "/.well-known/openid-configuration", 5000, {
    server: endpoint,
  });
  if (discovery.status !== 200) {
    throw new Error(`/.well-known/openid-configuration answered ${discovery.status}`);
  }
  // Served as application/jwk-set+json: an Accept of application/json alone gets 406.
  const jwks = await rawGet(config, "/openid/v1/jwks", 5000, {
    server: endpoint,
    accept: "application/jwk-set+json, application/json",
  });
  if (jwks.status !== 200) throw new Error(`/openid/v1/jwks answered ${jwks.status}`);
  const keys = (JSON.parse(jwks.body) as { keys?: { kid?: string }[] }).keys ?? [];
  return keys.map((key) => key.kid ?? "").filter(Boolean).sort();
}

/** Every endpoint's finding. */
async function findings(ctx: StepContext, step: Step, expected: string[]): Promise<JwksFinding[]> {
  const { endpoints, problems } = await planApiServerEndpoints(ctx);
  if (problems.length) throw new Error(problems.join("; "));
  if (endpoints.length === 0) throw new Error("no API server endpoint to check");
  return await Promise.all(endpoints.map(async ({ url }) => {
    try {
      return jwksFinding(url, await publishedKeyIds(ctx, url), expected, step.expect === "new");
    } catch (error) {
      return { endpoint: url, missing: [], extra: [], error: (error as Error).message };
    }
  }));
}

/** The verify-sa-jwks step kind. */
export const verifySaJwks = defineStepKind<Step, void>({
  kind: "verify-sa-jwks",
  schema: VerifySaJwksStep,
  undo: { nothing: "a check: it only reads" },
  drift: { none: "a check: it only reads" },
  tuning: ["timeoutSeconds"],
  checksOnly: true,

  async observe(ctx, step) {
    if (!ctx.dryRun) return;
    const { endpoints } = await planApiServerEndpoints(ctx);
    ctx.log.info(
      `would check that ${endpoints.length} API server endpoints publish ` +
        (step.expect === "bundle" ? "the old and the new service-account key" : "the new key only"),
    );
  },

  diff: () => [],

  async apply() {},

  async verify(ctx, step) {
    const expected = await expectedKeyIds(ctx, step);
    let wrong: string[] = [];
    try {
      await ctx.waitFor(
        `every API server publishes kid ${expected.join(", ")}`,
        async () => {
          const all = await findings(ctx, step, expected);
          wrong = all.map(describeJwksFinding).filter((line): line is string => !!line);
          return { done: wrong.length === 0, ready: all.length - wrong.length, total: all.length };
        },
        step.timeoutSeconds * 1000,
      );
    } catch (error) {
      throw new Error(
        wrong.length ? `after ${step.timeoutSeconds}s: ${wrong.join("; ")}` : String(error),
      );
    }
    ctx.log.info(`every API server endpoint publishes kid ${expected.join(", ")}`);
  },
});
