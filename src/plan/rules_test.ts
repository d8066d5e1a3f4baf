import assert from "node:assert/strict";
import { z } from "zod";
import { parsePlan } from "../app/plan.ts";
import { PlanError } from "./load.ts";
import { phaseIndex, PHASES } from "./phase.ts";
import { stepBase, type StepFields, stepNeedsEarlier } from "./step_format.ts";
import { edit, minimalPlanText } from "./_test_plans.ts";

function problems(text: string): string[] {
  try {
    parsePlan(text, "plans/test.yaml", {});
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error.problems.map((problem) => `${problem.line} ${problem.field}: ${problem.message}`);
  }
  return [];
}

/** The minimal plan with `steps` replaced. */
function withSteps(steps: string, cas = "  cluster:\n    source: generate\n"): string {
  const text = minimalPlanText();
  const head = text.slice(0, text.indexOf("cas:\n"));
  return `${head}cas:\n${cas}steps:\n${steps}`;
}

Deno.test("phases are ordered", () => {
  assert.deepEqual(PHASES.map(phaseIndex), [0, 1, 2]);
});

Deno.test("the minimal plan is sound", () => {
  assert.deepEqual(problems(minimalPlanText()), []);
});

Deno.test("old-CA removal before the kubelet gate is refused", () => {
  const steps = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: cluster }",
    "  - { id: a, phase: switch, kind: activate-ca, ca: cluster }",
    "  - { id: v, phase: finalize, kind: verify, expect: finalize }",
    "  - { id: f, phase: finalize, kind: roll-kubelets, clientCA: new }",
    "  - { id: r, phase: finalize, kind: remove-old-ca, ca: cluster }",
  ].join("\n") + "\n";
  const [first, ...rest] = problems(withSteps(steps));
  assert.match(first, /^20 steps\[3\]\.kind: roll-kubelets runs in finalize before the kubelet/);
  assert.deepEqual(rest, []);
  const gated = edit(
    steps,
    "  - { id: f,",
    "  - { id: g, phase: finalize, kind: verify-kubelet-rotation, wait: 10m }\n  - { id: f,",
  );
  assert.deepEqual(problems(withSteps(gated)), []);
});

Deno.test("kinds stay in their phase and CAs are staged before they are activated", () => {
  const steps = [
    "  - { id: a, phase: trust, kind: activate-ca, ca: cluster }",
    "  - { id: r, phase: switch, kind: reissue-leaves, ca: cluster, certs: [apiserver] }",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(steps)), [
    "17 steps[0].phase: a activate-ca step belongs in phase switch",
    "17 steps[0].kind: activate-ca for cluster needs an earlier distribute-ca step for it",
  ]);
});

Deno.test("roll-kubelets with clientCA new needs an earlier activate-ca of the cluster CA", () => {
  const early = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: cluster }",
    "  - { id: k, phase: switch, kind: roll-kubelets, clientCA: new }",
    "  - { id: a, phase: switch, kind: activate-ca, ca: cluster }",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(early)), [
    "18 steps[1].kind: roll-kubelets for cluster needs an earlier activate-ca step for it",
  ]);
  // After activate-ca: sound. With the bundle, no activate-ca is needed at all.
  const after = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: cluster }",
    "  - { id: a, phase: switch, kind: activate-ca, ca: cluster }",
    "  - { id: k, phase: switch, kind: roll-kubelets, clientCA: new }",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(after)), []);
  const bundle = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: cluster }",
    "  - { id: k, phase: trust, kind: roll-kubelets, clientCA: bundle }",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(bundle)), []);
  // The front-proxy CA's activate-ca is not the cluster CA's.
  const otherCa = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: frontProxy }",
    "  - { id: a, phase: switch, kind: activate-ca, ca: frontProxy }",
    "  - { id: k, phase: switch, kind: roll-kubelets, clientCA: new }",
  ].join("\n") + "\n";
  assert.deepEqual(
    problems(
      withSteps(otherCa, "  cluster: { source: generate }\n  frontProxy: { source: generate }\n"),
    ),
    ["19 steps[2].kind: roll-kubelets for cluster needs an earlier activate-ca step for it"],
  );
});

Deno.test("what a kind needs earlier may depend on the step, and names only kinds of its needsEarlier", () => {
  const format = (needsEarlierFor?: (step: StepFields) => readonly string[]) => ({
    kind: "k",
    schema: z.strictObject({ ...stepBase, kind: z.literal("k") }),
    needsEarlier: ["distribute-ca"],
    needsEarlierFor,
  });
  const step = { id: "s", phase: "trust" as const, kind: "k" };
  assert.deepEqual(stepNeedsEarlier(format(), step), ["distribute-ca"]);
  assert.deepEqual(stepNeedsEarlier(format(() => []), step), []);
  assert.throws(
    () => stepNeedsEarlier(format(() => ["activate-ca"]), step),
    /step "s": k's needsEarlierFor names activate-ca, not among its needsEarlier \(distribute-ca\)/,
  );
});

Deno.test('"new" in the trust phase is refused', () => {
  const steps =
    "  - { id: k, phase: trust, kind: update-kubeconfigs, files: [admin.conf], caData: new }\n";
  assert.deepEqual(problems(withSteps(steps)), [
    '17 steps[0].caData: "new" in the trust phase would drop the old CA while it still issues ' +
    'every certificate; use "bundle"',
  ]);
});

Deno.test("ifPresent names only the step's own flags and files", () => {
  const steps = [
    "  - id: f",
    "    phase: trust",
    "    kind: set-component-flags",
    "    component: kube-apiserver",
    "    flags: { --client-ca-file: /etc/kubernetes/pki/ca-bundle.crt }",
    "    ifPresent: [--kubelet-certificate-authority]",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(steps)), [
    '22 steps[0].ifPresent[0]: "--kubelet-certificate-authority" is not one of this step\'s flags',
  ]);
});

Deno.test("re-issued kubeconfigs belong to the cluster CA", () => {
  const steps = [
    "  - { id: d, phase: trust, kind: distribute-ca, ca: frontProxy }",
    "  - { id: a, phase: switch, kind: activate-ca, ca: frontProxy }",
    "  - { id: r, phase: switch, kind: reissue-leaves, ca: frontProxy, kubeconfigs: [admin.conf] }",
  ].join("\n") + "\n";
  assert.deepEqual(problems(withSteps(steps, "  frontProxy: { source: generate }\n")), [
    "18 steps[2].kubeconfigs: kubeconfig client certificates are issued by the cluster CA, " +
    "not frontProxy",
  ]);
});

Deno.test("node names are unique across groups", () => {
  const text = edit(
    minimalPlanText(),
    "cas:\n",
    "  workers:\n    driver: ssh\n    hosts: [{ name: cp-1, address: 10.0.0.1 }]\ncas:\n",
  );
  assert.deepEqual(problems(text), [
    '15 nodes.workers.hosts[0].name: duplicate node name "cp-1" (already in nodes.controlPlane)',
  ]);
});

Deno.test("a node group found from the cluster: selector, address type, hosts or fromCluster", () => {
  const workers = (body: string) =>
    problems(edit(minimalPlanText(), "cas:\n", `  workers:\n    driver: ssh\n${body}cas:\n`));
  const fromCluster = (selector: string, extra = "") =>
    workers(
      `    user: ops\n    port: 2222\n    fromCluster:\n      selector: "${selector}"\n${extra}`,
    );
  assert.deepEqual(fromCluster("!node-role.kubernetes.io/control-plane"), []);
  assert.deepEqual(fromCluster("pool in (a, b), zone!=c", "      addressType: ExternalIP\n"), []);
  assert.deepEqual(fromCluster("pool in a"), [
    '18 nodes.workers.fromCluster.selector: not a label selector: expected "(" after ' +
    '"pool in", found "a"',
  ]);
  assert.deepEqual(fromCluster("x", "      addressType: Internal\n"), [
    '19 nodes.workers.fromCluster.addressType: unknown value "Internal" (expected one of: ' +
    "InternalIP, ExternalIP, InternalDNS, ExternalDNS, Hostname)",
  ]);
  assert.deepEqual(workers("    identityFile: k\n"), [
    "13 nodes.workers: an ssh group needs hosts (listed) or fromCluster (Nodes found by selector)",
  ]);
  assert.deepEqual(workers(`    hosts: []\n    fromCluster:\n      selector: "x"\n`), [
    "16 nodes.workers.fromCluster: give either hosts or fromCluster, not both",
  ]);
  assert.deepEqual(workers(`    port: 0\n    fromCluster:\n      selector: "x"\n`), [
    "15 nodes.workers.port: must be at least 1",
  ]);
});

Deno.test("an exclusion's selector is checked too", () => {
  const text = edit(
    minimalPlanText(),
    "cas:\n",
    '  exclude:\n    - { selector: "pool=", reason: r }\n    - { selector: "=x", reason: r }\ncas:\n',
  );
  assert.deepEqual(problems(text), [
    '15 nodes.exclude[1].selector: not a label selector: expected a label key, found "="',
  ]);
});
