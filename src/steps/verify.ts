/**
 * `verify`: checks that the cluster is in the state a phase leaves it in, retrying until the
 * step's timeout, and fails listing every failing check. What each phase leaves behind is in
 * `checks/expectations.ts`; the checks and their runner ({@link runVerifyChecks}, which the CLI
 * and tests call directly) are in `checks/`.
 * @module
 */
import { readOnce } from "../engine/read_once_node.ts";
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { CA_NAMES } from "../plan/ca.ts";
import { phaseIndex, PHASES } from "../plan/phase.ts";
import {
  DEFAULT_VERIFY_CHECKS,
  describeTimeout,
  runVerifyChecks,
  VERIFY_CHECKS,
  type VerifyOptions,
  type VerifyReport,
} from "./checks/run_checks.ts";

/** `verify` parameters: check that the cluster is in the state the phase `expect` leaves it in. */
export const VerifyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify"),
  checks: z.array(z.enum(VERIFY_CHECKS)).min(1, "must name at least one check").default([
    ...DEFAULT_VERIFY_CHECKS,
  ]),
  expect: z.enum(PHASES),
  /** Tuning: how long to wait for the checks to pass. */
  timeoutSeconds: positiveInt.default(300),
});

type Step = z.infer<typeof VerifyStep>;

/** The verify step kind. */
export const verify = defineStepKind<Step, null>({
  kind: "verify",
  schema: VerifyStep,
  undo: { nothing: "it only checks" },
  drift: { none: "it only checks" },
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
    // A component once healthy in this wait is not probed again (a round trip per component per
    // poll over ssh): what the checks wait for is pods, nodes and the API server.
    const options: VerifyOptions = {
      expect: step.expect,
      checks: step.checks,
      healthyProbes: new Set(),
    };
    // The node files the checks read do not change while they wait (for components, pods, the
    // API server): read once, not at every poll (a round trip per file per poll over ssh).
    const polled = {
      ...ctx,
      controlPlane: ctx.controlPlane.map(readOnce),
      workers: ctx.workers.map(readOnce),
    };
    try {
      await ctx.waitFor(`the ${step.expect} checks (${step.checks.join(", ")})`, async () => {
        last = await runVerifyChecks(polled, options);
        return last.ok;
      }, step.timeoutSeconds * 1000);
    } catch (error) {
      if (!last || last.ok) throw error;
      throw new Error(describeTimeout(last, step.timeoutSeconds));
    }
    for (const check of last?.checks ?? []) {
      ctx.log.info(`${check.check}: ${check.summary}`);
      for (const note of check.notes) ctx.log.warn(`${check.check}: ${note}`);
    }
  },
});
