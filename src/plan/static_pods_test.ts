import assert from "node:assert/strict";
import { parsePlan } from "../app/plan.ts";
import { PlanError } from "./load.ts";
import { edit, minimalPlanText } from "./_test_plans.ts";
import { staticPodDecision } from "./static_pods.ts";

const STATIC_PODS = `staticPods:
  restart: [kube-vip]
  accept:
    - { name: konnectivity-agent, reason: "reads only its own token" }
steps:`;

function withStaticPods(block: string): string {
  return edit(minimalPlanText(), "steps:", block);
}

function refused(text: string): string {
  try {
    parsePlan(text, "plans/test.yaml", {});
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error.message;
  }
  return assert.fail("the plan loaded");
}

Deno.test("staticPods: absent means both lists empty; given, each pod's decision", () => {
  const none = parsePlan(minimalPlanText(), "plans/test.yaml", {}).plan;
  assert.deepEqual(none.staticPods, { restart: [], accept: [] });
  const { plan } = parsePlan(withStaticPods(STATIC_PODS), "plans/test.yaml", {});
  assert.deepEqual(staticPodDecision(plan.staticPods, "kube-vip"), { action: "restart" });
  assert.deepEqual(staticPodDecision(plan.staticPods, "konnectivity-agent"), {
    action: "accept",
    reason: "reads only its own token",
  });
  assert.deepEqual(staticPodDecision(plan.staticPods, "other"), { action: "unlisted" });
});

Deno.test("staticPods: a name in both lists is refused, naming the field and line", () => {
  const text = withStaticPods(`staticPods:
  restart: [kube-vip]
  accept:
    - { name: kube-vip, reason: "no" }
steps:`);
  assert.equal(
    refused(text),
    'Cannot load plan "plans/test.yaml": line 19, staticPods.accept[0].name: "kube-vip" is ' +
      "already listed in staticPods.restart[0]: a static pod is restarted or accepted, once",
  );
});

Deno.test("staticPods: a bad name or a missing reason is refused, naming the field", () => {
  assert.match(
    refused(withStaticPods("staticPods:\n  restart: [Kube_VIP]\nsteps:")),
    /line 17, staticPods\.restart\[0\]: must be a static pod's metadata\.name/,
  );
  assert.match(
    refused(withStaticPods("staticPods:\n  accept: [{ name: konnectivity }]\nsteps:")),
    /staticPods\.accept\[0\]\.reason: /,
  );
  assert.match(
    refused(withStaticPods("staticPods:\n  restrat: [kube-vip]\nsteps:")),
    /line 17, staticPods\.restrat: unknown field \(did you mean "restart"\?\)/,
  );
});
