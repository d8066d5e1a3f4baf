/**
 * `verify`: checks that the cluster is in the state a phase leaves it in, retrying until the
 * step's timeout, and fails listing every failing check. The checks, by phase:
 *
 * | check               | trust                 | switch            | finalize                   |
 * | ------------------- | --------------------- | ----------------- | -------------------------- |
 * | api-serving-chain   | chains to the old CA  | chains to new CA  | new CA, and not old alone  |
 * | root-ca-configmaps  | bundle                | bundle            | new CA only                |
 * | kubeconfigs         | bundle                | bundle, new certs | new CA only, new certs     |
 *
 * and, in every phase, nodes Ready, workloads available and components healthy.
 * {@link runVerifyChecks} runs the checks once (the CLI and tests use it).
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import type { CaName, TrustSet } from "../plan/ca.ts";
import type { Phase } from "../plan/phase.ts";
import { COMPONENTS } from "../plan/component.ts";
import {
  encodeBundle,
  fingerprint,
  issuedBy,
  parseCertificate,
  parseCertificates,
} from "../pki/mod.ts";
import { probeHealthy, probeUrl } from "./component_health.ts";
import { compareText, selectedNamespaces } from "./namespace_selection.ts";
import {
  describeRootCaProblems,
  ROOT_CA_CONFIGMAP,
  rootCaStatus,
  trustLabels,
  trustSetName,
} from "./root_ca_configmaps.ts";
import { WORKLOAD_API_VERSION, workloadAvailability } from "./rollout_status.ts";
import { type ApiEndpoint, planApiServerEndpoints, probeServingChain } from "./serving_chain.ts";
import { fingerprintsOf, trustPem } from "./trust_sets.ts";
import { errorText } from "./watch_object.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { CA_NAMES } from "../plan/ca.ts";
import { phaseIndex, PHASES } from "../plan/phase.ts";
import { kubeconfigPath, manifestPath } from "../plan/node_paths.ts";

/** The checks a `verify` step can run. */
export const VERIFY_CHECKS = [
  "api-serving-chain",
  "root-ca-configmaps",
  "nodes-ready",
  "workloads-available",
  "components-healthy",
  "kubeconfigs",
] as const;

/** `verify` parameters: check that the cluster is in the state the phase `expect` leaves it in. */
export const VerifyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify"),
  checks: z.array(z.enum(VERIFY_CHECKS)).min(1, "must name at least one check").default([
    ...VERIFY_CHECKS,
  ]),
  expect: z.enum(PHASES),
  /** Tuning: how long to wait for the checks to pass. */
  timeoutSeconds: positiveInt.default(300),
});

type Step = z.infer<typeof VerifyStep>;

/** One check a verify step can run. */
export type VerifyCheck = typeof VERIFY_CHECKS[number];

/** Which CA the API servers' serving chains must lead to. */
export type ServingExpectation = "old" | "new" | "new-only";

/** What a phase leaves behind. */
export interface PhaseExpectations {
  /** `old`: still the old CA; `new`: the new CA; `new-only`: the new CA and not the old alone. */
  readonly serving: ServingExpectation;
  /** What every namespace's kube-root-ca.crt holds. */
  readonly rootCa: TrustSet;
  /** What the control-plane kubeconfigs' certificate-authority-data hold. */
  readonly kubeconfigCa: TrustSet;
  /** Whether the kubeconfigs' client certificates are issued by the new CA. */
  readonly clientCertsByNewCa: boolean;
}

/** Pure: what the cluster looks like at the end of `phase`. */
export function phaseExpectations(phase: Phase): PhaseExpectations {
  switch (phase) {
    case "trust":
      return {
        serving: "old",
        rootCa: "bundle",
        kubeconfigCa: "bundle",
        clientCertsByNewCa: false,
      };
    case "switch":
      return { serving: "new", rootCa: "bundle", kubeconfigCa: "bundle", clientCertsByNewCa: true };
    case "finalize":
      return { serving: "new-only", rootCa: "new", kubeconfigCa: "new", clientCertsByNewCa: true };
  }
}

/** The kubeconfigs of `layout.kubeconfigDir` checked on control-plane nodes, and whether required. */
export const CONTROL_PLANE_KUBECONFIGS: readonly { file: string; required: boolean }[] = [
  { file: "admin.conf", required: true },
  { file: "controller-manager.conf", required: true },
  { file: "scheduler.conf", required: true },
  { file: "super-admin.conf", required: false },
];

/** The outcome of one check. */
export interface CheckResult {
  readonly check: VerifyCheck;
  readonly ok: boolean;
  /** One line: what was checked and found. */
  readonly summary: string;
  /** What is wrong, one item per line (empty when ok). */
  readonly problems: readonly string[];
  /** Things worth knowing that do not fail the check. */
  readonly notes: readonly string[];
}

/** The outcome of a run of checks. */
export interface VerifyReport {
  readonly expect: Phase;
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

/** Options of {@link runVerifyChecks}. */
export interface VerifyOptions {
  readonly expect: Phase;
  /** Default: every check. */
  readonly checks?: readonly VerifyCheck[];
  /**
   * The old cluster CA, for when the nodes no longer have it (after remove-old-ca deleted the
   * bundle). Default: the bundle minus the new CA.
   */
  readonly oldCaPem?: string;
}

/** The old CA certificate(s) of `ca`: the bundle minus the new CA; undefined once gone. */
export async function oldCaPem(ctx: StepContext, ca: CaName): Promise<string | undefined> {
  const newPrints = await fingerprintsOf(ctx.cas.get(ca).certPem);
  const old = [];
  for (const cert of parseCertificates(await trustPem(ctx, ca, "bundle"))) {
    if (!newPrints.includes(await fingerprint(cert))) old.push(cert);
  }
  return old.length > 0 ? encodeBundle(old) : undefined;
}

/** What every check needs, computed once per run. */
interface Facts {
  readonly ctx: StepContext;
  readonly expectations: PhaseExpectations;
  readonly newPem: string;
  readonly oldPem: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

type CheckBody = Omit<CheckResult, "check" | "ok">;

const CHECKS: Record<VerifyCheck, (facts: Facts) => Promise<CheckBody>> = {
  "api-serving-chain": checkServingChain,
  "root-ca-configmaps": checkRootCaConfigMaps,
  "nodes-ready": checkNodesReady,
  "workloads-available": checkWorkloadsAvailable,
  "components-healthy": checkComponentsHealthy,
  "kubeconfigs": checkKubeconfigs,
};

/** Runs the checks once, concurrently; a check that throws fails with the error. */
export async function runVerifyChecks(
  ctx: StepContext,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const expectations = phaseExpectations(options.expect);
  const newPem = ctx.cas.get("cluster").certPem;
  const oldPem = options.oldCaPem ?? await oldCaPem(ctx, "cluster");
  const labels: Record<string, string> = { ...await trustLabels(ctx) };
  for (const print of oldPem ? await fingerprintsOf(oldPem) : []) labels[print] = "old CA";
  for (const print of await fingerprintsOf(newPem)) labels[print] = "new CA";
  const facts: Facts = { ctx, expectations, newPem, oldPem, labels };
  const checks = await Promise.all(
    (options.checks ?? VERIFY_CHECKS).map(async (check): Promise<CheckResult> => {
      try {
        const body = await CHECKS[check](facts);
        return { check, ok: body.problems.length === 0, ...body };
      } catch (error) {
        return {
          check,
          ok: false,
          summary: "could not run",
          problems: [errorText(error)],
          notes: [],
        };
      }
    }),
  );
  return { expect: options.expect, ok: checks.every((check) => check.ok), checks };
}

/** Pure: the failing checks, one line per problem (at most `limit` per check). */
export function describeFailures(report: VerifyReport, limit = 10): string[] {
  return report.checks.filter((check) => !check.ok).flatMap((check) => {
    const lines = check.problems.slice(0, limit).map((problem) => `${check.check}: ${problem}`);
    const more = check.problems.length - limit;
    return more > 0 ? [...lines, `${check.check}: … and ${more} more`] : lines;
  });
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

async function checkServingChain(facts: Facts): Promise<CheckBody> {
  const { ctx, expectations, newPem, oldPem } = facts;
  const { endpoints, problems } = await planApiServerEndpoints(ctx);
  const notes: string[] = [];
  if (endpoints.length === 0) problems.push("no API server endpoint to check");
  const wanted = expectations.serving === "old" ? oldPem : newPem;
  const wantedName = expectations.serving === "old" ? "the old CA" : "the new CA";
  if (wanted === undefined) {
    return {
      summary: "cannot tell the old CA",
      problems: [...problems, "the old CA is not on the nodes (no CA bundle): give it to verify"],
      notes,
    };
  }
  if (expectations.serving === "new-only" && oldPem === undefined) {
    notes.push(
      "the old CA is no longer on the nodes: checked the chain to the new CA, not its absence",
    );
  }
  const name = (endpoint: ApiEndpoint) => `${endpoint.url} (${endpoint.source})`;
  let ok = 0;
  await Promise.all(endpoints.map(async (endpoint) => {
    const probe = await probeServingChain(endpoint, wanted);
    if (!probe.ok) {
      // Say which CA it does serve, when that is the other one of the rotation.
      const other = expectations.serving === "old" ? newPem : oldPem;
      const otherName = expectations.serving === "old" ? "the new CA" : "the old CA";
      const instead = other && (await probeServingChain(endpoint, other, { verifyHostname: false }))
          .ok
        ? `it serves a chain to ${otherName}`
        : shortTlsError(probe.error ?? "");
      problems.push(`${name(endpoint)} does not serve a chain to ${wantedName}: ${instead}`);
      return;
    }
    if (probe.nameMismatch) notes.push(`${name(endpoint)}: ${probe.error}`);
    if (expectations.serving === "new-only" && oldPem !== undefined) {
      const old = await probeServingChain(endpoint, oldPem, { verifyHostname: false });
      if (old.ok) {
        problems.push(`${name(endpoint)} still serves a chain the old CA verifies`);
        return;
      }
    }
    ok++;
  }));
  return {
    summary: `${ok} of ${plural(endpoints.length, "endpoint")} serve a chain to ${wantedName}` +
      (expectations.serving === "new-only" && oldPem ? " and not to the old CA" : ""),
    problems: problems.sort(compareText),
    notes: notes.sort(compareText),
  };
}

/** rustls errors carry a debug dump of OIDs after the reason: keep the reason. */
function shortTlsError(error: string): string {
  return error.replace(/\s*\{[^]*$/, "");
}

async function checkRootCaConfigMaps(facts: Facts): Promise<CheckBody> {
  const set = facts.expectations.rootCa;
  const status = await rootCaStatus(facts.ctx, set);
  return {
    summary: `${status.namespaces - status.wrong.length} of ${
      plural(status.namespaces, "namespace")
    }' ${ROOT_CA_CONFIGMAP} hold ${trustSetName(set)}`,
    problems: status.wrong.length === 0
      ? []
      : status.wrong.map((each) => describeRootCaProblems([each])),
    notes: [],
  };
}

interface NodeObject extends KubeObject {
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

async function checkNodesReady(facts: Facts): Promise<CheckBody> {
  const nodes = await facts.ctx.cluster.list<NodeObject>("v1", "Node");
  const problems: string[] = [];
  for (const node of nodes) {
    const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
    if (ready?.status === "True") continue;
    problems.push(
      `${node.metadata?.name}: ${
        ready
          ? `Ready=${ready.status} (${ready.reason ?? ""}: ${ready.message ?? ""})`
          : "no Ready condition"
      }`,
    );
  }
  return {
    summary: `${nodes.length - problems.length} of ${plural(nodes.length, "node")} Ready`,
    problems: problems.sort(compareText),
    notes: [],
  };
}

type Deletable = KubeObject & {
  metadata?: KubeObject["metadata"] & { deletionTimestamp?: unknown };
};

async function checkWorkloadsAvailable(facts: Facts): Promise<CheckBody> {
  const { ctx } = facts;
  const settings = ctx.workloads;
  const kinds = [...new Set(["Deployment", "DaemonSet", ...settings.kinds])];
  const namespaces = new Set(await selectedNamespaces(ctx.cluster, settings.namespaces));
  const problems: string[] = [];
  let count = 0;
  for (const kind of kinds) {
    for (const object of await ctx.cluster.list<Deletable>(WORKLOAD_API_VERSION, kind)) {
      const namespace = object.metadata?.namespace ?? "";
      if (!namespaces.has(namespace) || object.metadata?.deletionTimestamp) continue;
      count++;
      const availability = workloadAvailability(kind, object);
      if (!availability.available) {
        problems.push(`${kind}/${namespace}/${object.metadata?.name}: ${availability.message}`);
      }
    }
  }
  return {
    summary: `${count - problems.length} of ${plural(count, "workload")} available (${
      kinds.join(", ")
    } in ${plural(namespaces.size, "namespace")})`,
    problems: problems.sort(compareText),
    notes: [],
  };
}

async function checkComponentsHealthy(facts: Facts): Promise<CheckBody> {
  const { ctx } = facts;
  const problems: string[] = [];
  const notes: string[] = [];
  let healthy = 0;
  let checked = 0;
  await Promise.all(ctx.controlPlane.flatMap((node) =>
    COMPONENTS.map(async (component) => {
      const path = manifestPath(ctx.layout, component);
      const manifest = await node.readFile(path);
      if (manifest === undefined) return;
      const url = probeUrl(manifest);
      if (!url) {
        notes.push(`${node.name}/${component}: its manifest has no HTTP probe`);
        return;
      }
      checked++;
      if (await probeHealthy(node, url)) healthy++;
      else problems.push(`${node.name}/${component}: ${url} does not answer 200`);
    })
  ));
  return {
    summary: `${healthy} of ${plural(checked, "component")} healthy on ${
      plural(ctx.controlPlane.length, "control-plane node")
    }`,
    problems: problems.sort(compareText),
    notes: notes.sort(compareText),
  };
}

async function checkKubeconfigs(facts: Facts): Promise<CheckBody> {
  const { ctx, expectations, labels } = facts;
  const set = expectations.kubeconfigCa;
  const expected = await fingerprintsOf(await trustPem(ctx, "cluster", set));
  const newCa = parseCertificate(facts.newPem);
  const describe = (prints: readonly string[]) =>
    prints.map((print) => labels[print] ?? `CA sha256:${print.slice(0, 16)}`).join(" + ") ||
    "nothing";
  const problems: string[] = [];
  let checked = 0;
  for (const node of ctx.controlPlane) {
    for (const { file, required } of CONTROL_PLANE_KUBECONFIGS) {
      const path = kubeconfigPath(ctx.layout, file);
      const where = `${node.name}:${path}`;
      const text = await node.readFile(path);
      if (text === undefined) {
        if (required) problems.push(`${where}: missing`);
        continue;
      }
      checked++;
      for (const data of kubeconfigCaData(text, where)) {
        const held = await fingerprintsOf(data);
        if (JSON.stringify(held) !== JSON.stringify(expected)) {
          problems.push(
            `${where}: certificate-authority-data holds ${describe(held)}, not ${
              trustSetName(set)
            }`,
          );
        }
      }
      if (!expectations.clientCertsByNewCa) continue;
      const client = kubeconfigClientCert(text, where);
      const certPem = client.certPem ??
        (client.certFile ? await node.readFile(client.certFile) : undefined);
      if (certPem === undefined) continue;
      const cert = parseCertificate(certPem, where);
      if (!(await issuedBy(cert, newCa))) {
        problems.push(`${where}: client certificate "${cert.subject}" is not issued by the new CA`);
      }
    }
  }
  return {
    summary:
      `${checked} kubeconfigs on ${
        plural(ctx.controlPlane.length, "control-plane node")
      } checked for ${trustSetName(set)}` +
      (expectations.clientCertsByNewCa ? " and new-CA client certificates" : ""),
    problems,
    notes: [],
  };
}

/** The verify step kind. */
export const verify = defineStepKind<Step, null>({
  kind: "verify",
  schema: VerifyStep,
  tuning: ["timeoutSeconds"],
  checksOnly: true,
  cas: (_step, plan) => CA_NAMES.filter((ca) => plan.cas[ca] !== undefined),
  rules(step) {
    if (phaseIndex(step.expect) <= phaseIndex(step.phase)) return [];
    return [{
      path: ["expect"],
      message: `cannot expect the state after ${step.expect} in the ${step.phase} phase`,
    }];
  },

  observe: () => Promise.resolve(null),

  diff: () => [],

  apply: () => Promise.resolve(),

  async verify(ctx, step) {
    let last: VerifyReport | undefined;
    const options: VerifyOptions = { expect: step.expect, checks: step.checks };
    try {
      await ctx.waitFor(`the ${step.expect} checks (${step.checks.join(", ")})`, async () => {
        last = await runVerifyChecks(ctx, options);
        return last.ok;
      }, step.timeoutSeconds * 1000);
    } catch (error) {
      if (!last || last.ok) throw error;
      const failures = describeFailures(last);
      throw new Error(
        `${plural(last.checks.filter((check) => !check.ok).length, "check")} of "${step.expect}" ` +
          `still failing after ${step.timeoutSeconds}s:\n  ${failures.join("\n  ")}`,
      );
    }
    for (const check of last?.checks ?? []) {
      ctx.log.info(`${check.check}: ${check.summary}`);
      for (const note of check.notes) ctx.log.warn(`${check.check}: ${note}`);
    }
  },
});
