import assert from "node:assert/strict";
import { canonicalJson, planDigest, stepDigest } from "./digest.ts";
import { parsePlan } from "../app/plan.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { edit, minimalPlanText, shippedPlan } from "./_test_plans.ts";

const load = (text: string) => parsePlan(text, "plans/test.yaml", {});

Deno.test("canonical JSON sorts keys and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } }),
    '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
  );
});

Deno.test("the digest ignores stopAfter and tuning", () => {
  const base = load(minimalPlanText());
  let tuned = edit(minimalPlanText(), "stopAfter: trust", "stopAfter: finalize");
  tuned = edit(tuned, "    batchSize: 2\n", "    batchSize: 10\n    timeoutSeconds: 30\n");
  tuned = edit(tuned, "    expect: trust\n", "    expect: trust\n    timeoutSeconds: 900\n");
  tuned = edit(tuned, "  preset: kubeadm\n", "  preset: kubeadm\n  kubeletRestart: [reboot]\n");
  tuned = edit(
    tuned,
    "steps:\n",
    "workloads:\n  batchSize: 1\n  window: adaptive\n  windowStart: 1\n  order: [kube-public]\nsteps:\n",
  );
  tuned = edit(tuned, "    batchSize: 10\n", "    batchSize: 10\n    window: fixed\n");
  const other = load(tuned);
  assert.equal(other.digest, base.digest);
  assert.deepEqual(other.stepDigests, base.stepDigests);
});

Deno.test("the digest is the same whether a default is written or not", () => {
  const base = load(minimalPlanText());
  const explicit = load(
    edit(
      minimalPlanText(),
      "    source: generate\n",
      "    source: generate\n    algorithm: ecdsa-p256\n    commonName: kubernetes\n",
    ),
  );
  assert.equal(explicit.digest, base.digest);
});

Deno.test("a different CA source changes the digest and the steps that use the CA", () => {
  const base = load(minimalPlanText());
  const other = load(
    edit(
      minimalPlanText(),
      "    source: generate\n",
      "    source: generate\n    algorithm: rsa-4096\n",
    ),
  );
  assert.notEqual(other.digest, base.digest);
  assert.notEqual(other.stepDigests["distribute"], base.stepDigests["distribute"]);
  assert.notEqual(other.stepDigests["verify"], base.stepDigests["verify"]);
  assert.equal(other.stepDigests["roll"], base.stepDigests["roll"], "roll uses no CA");
});

Deno.test("a changed workload selection changes the roll step's digest, from defaults too", () => {
  const base = load(minimalPlanText());
  const other = load(
    edit(minimalPlanText(), "steps:\n", "workloads:\n  kinds: [Deployment, StatefulSet]\nsteps:\n"),
  );
  assert.notEqual(other.stepDigests["roll"], base.stepDigests["roll"]);
  assert.equal(other.stepDigests["distribute"], base.stepDigests["distribute"]);
});

Deno.test("a changed layout path changes every step's digest", () => {
  const base = load(minimalPlanText());
  const other = load(
    edit(minimalPlanText(), "  preset: kubeadm\n", "  preset: kubeadm\n  pkiDir: /srv/pki\n"),
  );
  for (const id of ["distribute", "roll", "verify"]) {
    assert.notEqual(other.stepDigests[id], base.stepDigests[id], id);
  }
});

Deno.test("in the kubeadm plan, a flag change touches only its step", async () => {
  const text = await Deno.readTextFile(shippedPlan("kubeadm.yaml"));
  const base = load(text);
  const other = load(
    edit(
      text,
      "      --root-ca-file: /etc/kubernetes/pki/ca-bundle.crt\n",
      "      --root-ca-file: /etc/kubernetes/pki/other-bundle.crt\n",
    ),
  );
  const changed = Object.keys(base.stepDigests).filter((id) =>
    base.stepDigests[id] !== other.stepDigests[id]
  );
  assert.deepEqual(changed, ["controller-manager-trust-bundle"]);
  assert.equal(
    stepDigest(base.plan, base.plan.steps[0], STEP_KINDS),
    base.stepDigests[base.plan.steps[0].id],
  );
  assert.equal(planDigest(load(text).plan, STEP_KINDS), base.digest);
});
