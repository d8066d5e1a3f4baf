/**
 * Private to the `verify` checks: what a check is given and what it gives back.
 * @module
 */
import type { StepContext } from "../../engine/step.ts";
import type { PhaseExpectations } from "./expectations.ts";
import type { CheckResult } from "./run_checks.ts";

/** What every check needs, computed once per run. */
export interface CheckFacts {
  readonly ctx: StepContext;
  readonly expectations: PhaseExpectations;
  /** The new cluster CA. */
  readonly newPem: string;
  /** The old cluster CA; undefined once it is no longer on the nodes. */
  readonly oldPem: string | undefined;
  /** Names of known CA fingerprints ("old CA", "new CA"). */
  readonly labels: Readonly<Record<string, string>>;
  /** Probes that answered 200 earlier in this wait (`VerifyOptions.healthyProbes`). */
  readonly healthyProbes?: Set<string>;
}

/** What a check finds: its result without the check's name and verdict. */
export type CheckFindings = Omit<CheckResult, "check" | "ok">;

/** One check: reads the cluster, never writes. */
export type Check = (facts: CheckFacts) => Promise<CheckFindings>;

/** `1 node`, `3 nodes`. */
export const plural = (count: number, word: string): string =>
  `${count} ${word}${count === 1 ? "" : "s"}`;
