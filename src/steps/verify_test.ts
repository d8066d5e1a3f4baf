import assert from "node:assert/strict";
import { verify, VerifyStep } from "./verify.ts";
import { DEFAULT_VERIFY_CHECKS, VERIFY_CHECKS } from "./checks/run_checks.ts";
import { parsePlan } from "../app/plan.ts";
import { PlanError } from "../plan/load.ts";
import { edit, minimalPlanText } from "../plan/_test_plans.ts";

Deno.test("VerifyStep: the first version's checks by default, 300s to pass", () => {
  const step = VerifyStep.parse({ id: "verify", phase: "trust", kind: "verify", expect: "trust" });
  assert.deepEqual(step.checks, [...DEFAULT_VERIFY_CHECKS]);
  assert.deepEqual(
    VERIFY_CHECKS.filter((check) => !(DEFAULT_VERIFY_CHECKS as readonly string[]).includes(check)),
    ["leaf-certificates"],
    "checks added later are named in a plan, so a recorded verify step keeps its digest",
  );
  assert.equal(step.timeoutSeconds, 300);
  assert.throws(
    () => VerifyStep.parse({ ...step, checks: [] }),
    /must name at least one check/,
  );
  assert.deepEqual(verify.tuning, ["timeoutSeconds"]);
});

Deno.test("verify: a step cannot expect the state after a later phase", () => {
  const { plan } = parsePlan(minimalPlanText(), "plans/test.yaml");
  const step = (expect: "trust" | "switch", phase: "trust" | "switch") =>
    VerifyStep.parse({ id: "verify", phase, kind: "verify", expect });
  assert.deepEqual(verify.rules?.(step("trust", "switch"), plan), []);
  assert.deepEqual(verify.rules?.(step("switch", "trust"), plan), [{
    path: ["expect"],
    message: "cannot expect the state after switch in the trust phase",
  }]);
  try {
    parsePlan(edit(minimalPlanText(), "expect: trust", "expect: switch"), "plans/test.yaml");
    assert.fail("the plan loaded");
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    assert.match(error.message, /cannot expect the state after switch in the trust phase/);
  }
});
