import assert from "node:assert/strict";
import { verifyPodTrust } from "./verify_pod_trust.ts";
import { minimalPlanText } from "../plan/_test_plans.ts";
import { parsePlan } from "../app/plan.ts";

Deno.test("verify-pod-trust: accept defaults to none, owners are Kind/name", () => {
  const step = verifyPodTrust.schema.parse({
    id: "gate",
    phase: "switch",
    kind: "verify-pod-trust",
  });
  assert.deepEqual(step.accept, []);
  const parsed = verifyPodTrust.schema.safeParse({
    id: "gate",
    phase: "switch",
    kind: "verify-pod-trust",
    accept: [{ namespace: "batch", owner: "backup" }],
  });
  assert.equal(parsed.success, false);
  assert.match(JSON.stringify(parsed.error?.issues), /must be \\"Kind\/name\\"/);
});

Deno.test("verify-pod-trust: accepting pods mid-rotation does not change the step's digest", () => {
  const gate = "  - id: gate\n    phase: trust\n    kind: verify-pod-trust\n";
  const text = minimalPlanText().trimEnd() + "\n" + gate;
  const accepted = text + '    accept: [{ namespace: batch, owner: "CronJob/*" }]\n';
  assert.equal(
    parsePlan(text, "p.yaml").stepDigests.gate,
    parsePlan(accepted, "p.yaml").stepDigests.gate,
  );
});
