/**
 * The `verify` checks and their runner: {@link runVerifyChecks} runs the checks once (the
 * `verify` step kind retries it until its timeout; the CLI and tests call it directly) and
 * {@link describeFailures} words what failed. Each check lives in its own `check_<id>.ts`.
 * @module
 */
import type { StepContext } from "../../engine/step.ts";
import type { Phase } from "../../plan/phase.ts";
import { fingerprintsOf } from "../../pki/mod.ts";
import { trustLabels } from "../_root_ca_configmaps.ts";
import { oldCaPem } from "../trust_sets.ts";
import { errorText } from "../_watch_object.ts";
import { type Check, type CheckFacts, plural } from "./_check.ts";
import { phaseExpectations } from "./expectations.ts";
import { checkApiServingChain } from "./check_api_serving_chain.ts";
import { checkRootCaConfigMaps } from "./check_root_ca_configmaps.ts";
import { checkNodesReady } from "./check_nodes_ready.ts";
import { checkWorkloadsAvailable } from "./check_workloads_available.ts";
import { checkComponentsHealthy } from "./check_components_healthy.ts";
import { checkKubeconfigs } from "./check_kubeconfigs.ts";
import { checkLeafCertificates } from "./check_leaf_certificates.ts";

/**
 * The checks a `verify` step runs when it names none (the checks of the plan format's first
 * version: a verify step's digest covers them, so later checks are named, not added here).
 */
export const DEFAULT_VERIFY_CHECKS = [
  "api-serving-chain",
  "root-ca-configmaps",
  "nodes-ready",
  "workloads-available",
  "components-healthy",
  "kubeconfigs",
] as const;

/** The checks a `verify` step can run. */
export const VERIFY_CHECKS = [...DEFAULT_VERIFY_CHECKS, "leaf-certificates"] as const;

/** One check a verify step can run. */
export type VerifyCheck = typeof VERIFY_CHECKS[number];

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
  /**
   * Component probes (node and URL) that answered 200 earlier in the same wait: not probed again,
   * so a `verify` that waits over ssh costs no round trip per healthy component per poll.
   * Filled as probes answer 200. Default: every component probed.
   */
  readonly healthyProbes?: Set<string>;
}

const CHECKS: Record<VerifyCheck, Check> = {
  "api-serving-chain": checkApiServingChain,
  "root-ca-configmaps": checkRootCaConfigMaps,
  "nodes-ready": checkNodesReady,
  "workloads-available": checkWorkloadsAvailable,
  "components-healthy": checkComponentsHealthy,
  "kubeconfigs": checkKubeconfigs,
  "leaf-certificates": checkLeafCertificates,
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
  const facts: CheckFacts = {
    ctx,
    expectations,
    newPem,
    oldPem,
    labels,
    healthyProbes: options.healthyProbes,
  };
  const checks = await Promise.all(
    (options.checks ?? DEFAULT_VERIFY_CHECKS).map(async (check): Promise<CheckResult> => {
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

/** Pure: why checks that are still failing after `seconds` fail, one problem per line. */
export function describeTimeout(report: VerifyReport, seconds: number): string {
  const failing = report.checks.filter((check) => !check.ok).length;
  return `${plural(failing, "check")} of "${report.expect}" still failing after ${seconds}s:\n  ` +
    describeFailures(report).join("\n  ");
}
