import assert from "node:assert/strict";
import { dirname, isAbsolute, join } from "node:path";
import { loadPlan, parsePlan } from "../app/plan.ts";
import { PlanError } from "./load.ts";
import { STEP_KINDS } from "../steps/kinds.ts";

const KIND_NAMES = STEP_KINDS.map((kind) => kind.kind);
import { edit, minimalPlanText, shippedPlan, testdata } from "./_test_plans.ts";

/** Loads a plan that must fail and returns its PlanError. */
async function refused(path: string, env: Record<string, string> = {}): Promise<PlanError> {
  const error = await loadPlan(path, env).then(
    () => assert.fail(`${path} loaded`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof PlanError, String(error));
  return error;
}

function refusedText(text: string, env: Record<string, string> = {}): PlanError {
  try {
    parsePlan(text, "plans/test.yaml", env);
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error;
  }
  return assert.fail("the plan loaded");
}

Deno.test("plans/kubeadm.yaml loads: the whole procedure, three phases in order", async () => {
  const { plan, digest, stepDigests } = await loadPlan(shippedPlan("kubeadm.yaml"), {});
  assert.equal(plan.metadata.name, "kubeadm-ha");
  assert.equal(plan.stopAfter, "trust");
  assert.deepEqual([...new Set(plan.steps.map((step) => step.phase))], [
    "trust",
    "switch",
    "finalize",
  ]);
  assert.equal(plan.nodes.controlPlane.driver, "ssh");
  assert.ok(plan.cas.cluster && plan.cas.frontProxy);
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(Object.keys(stepDigests).length, plan.steps.length);
  const kinds = new Set(plan.steps.map((step) => step.kind));
  // wait-token-secrets is opt-in (it lists every Secret, which deploy/rbac.yaml does not grant),
  // and so is kubelet-serving-gate (for kubelets with serverTLSBootstrap; approving needs the
  // kubelet-serving signer), and so are the etcd CA's own kinds (the etcd CA is not rotated as
  // shipped) and the service-account key's rotation: the plan shows them commented out.
  assert.deepEqual(
    KIND_NAMES.filter((kind) => !kinds.has(kind)),
    [
      "etcd-snapshot",
      "distribute-sa-key",
      "etcd-trust-gate",
      "wait-token-secrets",
      "verify-sa-jwks",
      "kubelet-serving-gate",
      "verify-sa-tokens",
      "activate-sa-key",
      "remove-old-sa-key",
    ],
    "every kind is used but the opt-in ones",
  );
  const text = await Deno.readTextFile(shippedPlan("kubeadm.yaml"));
  assert.match(text, /# {3}kind: wait-token-secrets/);
  assert.match(text, /# {3}kind: kubelet-serving-gate/);
  for (
    const kind of ["distribute-sa-key", "verify-sa-jwks", "verify-sa-tokens", "remove-old-sa-key"]
  ) {
    assert.match(text, new RegExp(`# {3}kind: ${kind}\\n`));
  }
  const gate = plan.steps.findIndex((step) => step.kind === "verify-kubelet-rotation");
  const firstFinalize = plan.steps.findIndex((step) => step.phase === "finalize");
  assert.equal(gate, firstFinalize, "the kubelet gate opens the finalize phase");
});

Deno.test("plans/local-etcd-ca.yaml loads: the etcd CA alone, its steps in phase order", async () => {
  const { plan } = await loadPlan(shippedPlan("local-etcd-ca.yaml"), {
    NODE_ROOTS: "/tmp/cluster/cp-1 /tmp/cluster/cp-2 /tmp/cluster/cp-3",
    NODE_IPS: "198.18.1.1 198.18.1.2 198.18.1.3",
  });
  assert.deepEqual(Object.keys(plan.cas), ["etcd"]);
  assert.deepEqual(plan.steps.map((step) => `${step.phase}/${step.kind}`).slice(0, 5), [
    "trust/etcd-snapshot",
    "trust/distribute-ca",
    "trust/set-component-flags",
    "trust/set-component-flags",
    "trust/etcd-trust-gate",
  ]);
  assert.equal(plan.steps.at(-1)?.kind, "remove-old-ca");
  const kubeadm = await Deno.readTextFile(shippedPlan("kubeadm.yaml"));
  assert.match(kubeadm, /# {4}kind: etcd-snapshot/);
  assert.match(kubeadm, /# {4}kind: etcd-trust-gate/);
});

Deno.test("plans/local-demo.yaml loads with the cluster's environment", async () => {
  const { plan } = await loadPlan(shippedPlan("local-demo.yaml"), {
    NODE_ROOTS: "/tmp/cluster/cp-1 /tmp/cluster/cp-2  /tmp/cluster/cp-3",
    NODE_IPS: "198.18.1.1 198.18.1.2 198.18.1.3",
    WORKER_ROOTS: "/tmp/cluster/worker-1",
  });
  assert.equal(plan.stopAfter, "trust");
  assert.deepEqual(plan.nodes.controlPlane, {
    driver: "local",
    roots: ["/tmp/cluster/cp-1", "/tmp/cluster/cp-2", "/tmp/cluster/cp-3"],
    addresses: ["198.18.1.1", "198.18.1.2", "198.18.1.3"],
  });
  assert.deepEqual(plan.nodes.workers, { driver: "local", roots: ["/tmp/cluster/worker-1"] });
  assert.deepEqual(plan.layout.kubeletRestart, [
    "sh",
    "-c",
    'touch "$NODE_ROOT/var/run/kubelet/restart"',
  ]);
  assert.equal(plan.layout.pkiDir, "/etc/kubernetes/pki");
});

Deno.test("plans/local-demo.yaml: WORKER_ROOTS may be unset, NODE_ROOTS may not", async () => {
  const { plan } = await loadPlan(shippedPlan("local-demo.yaml"), {
    NODE_ROOTS: "/r/cp-1",
    NODE_IPS: "198.18.1.1",
  });
  assert.deepEqual(plan.nodes.workers, { driver: "local", roots: [] });
  const path = shippedPlan("local-demo.yaml");
  const line = 1 + (await Deno.readTextFile(path)).split("\n")
    .findIndex((text) => text.includes('roots: "${NODE_ROOTS}"'));
  const error = await refused(path, { NODE_IPS: "198.18.1.1" });
  assert.deepEqual([error.line, error.field], [line, "nodes.controlPlane.roots"]);
  assert.equal(
    error.message,
    `Cannot load plan "${path}": line ${line}, nodes.controlPlane.roots: ` +
      `environment variable NODE_ROOTS is not set`,
  );
});

Deno.test("an unknown step kind names file, line and field", async () => {
  const path = testdata("unknown_kind.yaml");
  const error = await refused(path);
  assert.equal(error.file, path);
  assert.equal(error.line, 23);
  assert.equal(error.field, "steps[1].kind");
  assert.equal(
    error.message,
    `Cannot load plan "${path}": line 23, steps[1].kind: unknown step kind "restart-everything" ` +
      `(expected one of: ${KIND_NAMES.join(", ")})`,
  );
});

Deno.test("a missing field names its step's line", async () => {
  const path = testdata("missing_field.yaml");
  const error = await refused(path);
  assert.equal(error.message, `Cannot load plan "${path}": line 17, steps[0].ca: is missing`);
  assert.deepEqual([error.line, error.field], [17, "steps[0].ca"]);
});

Deno.test("a bad YAML indent reports yaml's own line and column", async () => {
  const path = testdata("bad_indent.yaml");
  const error = await refused(path);
  assert.deepEqual([error.line, error.column, error.field], [20, 12, "steps[0].phase"]);
  assert.match(
    error.message.split("\n")[0],
    new RegExp(
      `^Cannot load plan "${path}": line 20, column 12, steps\\[0\\]\\.phase: YAML syntax error: `,
    ),
  );
});

Deno.test("an under-indented key is a YAML error at its line", () => {
  const text = edit(
    minimalPlanText(),
    "layout:\n  preset: kubeadm\n",
    "layout:\n    preset: kubeadm\n  pkiDir: /etc/pki\n",
  );
  const error = refusedText(text);
  assert.equal(error.line, 9);
  assert.match(error.message, /: line 9, column \d+, layout: YAML syntax error: /);
});

Deno.test("an unknown stopAfter names the phases", async () => {
  const path = testdata("unknown_stop_after.yaml");
  const error = await refused(path);
  assert.equal(
    error.message,
    `Cannot load plan "${path}": line 6, stopAfter: unknown phase "finalise" ` +
      `(expected one of: trust, switch, finalize)`,
  );
});

Deno.test("duplicate step ids are refused", async () => {
  const path = testdata("duplicate_ids.yaml");
  const error = await refused(path);
  assert.equal(
    error.message,
    `Cannot load plan "${path}": line 25, steps[2].id: duplicate step id "roll" (already used by steps[1])`,
  );
});

Deno.test("a trust step after a switch step is refused", async () => {
  const error = await refused(testdata("phase_order.yaml"));
  assert.deepEqual([error.line, error.field], [26, "steps[2].phase"]);
  assert.match(error.message, /a trust step after a switch step \(steps\[1\]\)/);
});

Deno.test("a CA that cas does not declare is refused", async () => {
  const error = await refused(testdata("undeclared_ca.yaml"));
  assert.deepEqual([error.line, error.field], [20, "steps[0].ca"]);
  assert.match(error.message, /CA "frontProxy" is not declared in cas \(declared: cluster\)/);
});

Deno.test("every problem is reported, each on its own line, in file order", async () => {
  const path = testdata("several_problems.yaml");
  const error = await refused(path);
  assert.deepEqual(error.message.split("\n"), [
    `Cannot load plan "${path}": line 10, layout.pkidir: unknown field (did you mean "pkiDir"?)`,
    `Cannot load plan "${path}": line 26, steps[1].batchSize: expected a number, got "two"`,
    `Cannot load plan "${path}": line 30, steps[2].expect: unknown phase "everything" ` +
    `(expected one of: trust, switch, finalize)`,
  ]);
  assert.equal(error.problems.length, 3);
});

Deno.test("unknown step parameters and wrong types are refused", () => {
  const text = edit(
    minimalPlanText(),
    "    batchSize: 2\n",
    "    batchsize: 2\n    kinds: Deployment\n",
  );
  const lines = refusedText(text).message.split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /line 24, steps\[1\]\.batchsize: unknown field \(did you mean "batchSize"\?\)$/,
  );
  assert.match(lines[1], /line 25, steps\[1\]\.kinds: expected a list, got "Deployment"$/);
});

Deno.test("a missing kind lists the kinds", () => {
  const text = edit(minimalPlanText(), "    kind: distribute-ca\n", "");
  const error = refusedText(text);
  assert.equal(error.field, "steps[0].kind");
  assert.equal(error.line, 17);
  assert.match(error.message, /steps\[0\]\.kind: is missing \(expected one of: distribute-ca, /);
});

Deno.test("a missing section points at the top of the plan", () => {
  const text = edit(minimalPlanText(), "cas:\n  cluster:\n    source: generate\n", "");
  const error = refusedText(text);
  assert.equal(error.message, `Cannot load plan "plans/test.yaml": line 2, cas: is missing`);
});

Deno.test("an empty or non-mapping plan is refused", () => {
  assert.match(refusedText("").message, /: line 1: the plan is empty$/);
  assert.match(refusedText("- a\n").message, /: line 1: expected a mapping, got a list$/);
});

Deno.test("environment substitution: strings, words for lists, unset variables", () => {
  let text = edit(minimalPlanText(), "roots: [/tmp/ca-rotator-test/cp-1]", 'roots: "${ROOTS}"');
  text = edit(text, "  name: minimal", "  name: ${NAME}-plan");
  const { plan } = parsePlan(text, "plans/test.yaml", { ROOTS: "/a/cp-1\n/a/cp-2", NAME: "env" });
  assert.equal(plan.metadata.name, "env-plan");
  assert.deepEqual(plan.nodes.controlPlane, { driver: "local", roots: ["/a/cp-1", "/a/cp-2"] });

  const error = refusedText(text, { ROOTS: "/a/cp-1" });
  assert.equal(
    error.message,
    `Cannot load plan "plans/test.yaml": line 5, metadata.name: environment variable NAME is not set`,
  );
});

Deno.test("environment substitution: a whole reference where a number is expected", () => {
  const text = edit(minimalPlanText(), "    batchSize: 2\n", '    batchSize: "${BATCH}"\n');
  const { plan } = parsePlan(text, "plans/test.yaml", { BATCH: "7" });
  const roll = plan.steps.find((step) => step.kind === "roll-workloads");
  assert.equal(roll?.kind === "roll-workloads" && roll.batchSize, 7);
  const error = refusedText(text, { BATCH: "seven" });
  assert.match(error.message, /line 24, steps\[1\]\.batchSize: expected a number, got "seven"$/);
});

Deno.test("files CA sources resolve against the plan file and must exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = edit(
      minimalPlanText(),
      "    source: generate\n",
      "    source: files\n    cert: new-ca/ca.crt\n    key: /nonexistent/ca.key\n",
    );
    await Deno.mkdir(join(dir, "new-ca"));
    await Deno.writeTextFile(join(dir, "new-ca", "ca.crt"), "");
    const path = join(dir, "plan.yaml");
    await Deno.writeTextFile(path, text);
    const error = await refused(path);
    assert.equal(
      error.message,
      `Cannot load plan "${path}": line 17, cas.cluster.key: file not found: /nonexistent/ca.key`,
    );
    await Deno.writeTextFile(join(dir, "ca.key"), "");
    await Deno.writeTextFile(path, edit(text, "/nonexistent/ca.key", "./ca.key"));
    const { plan } = await loadPlan(path, {});
    assert.deepEqual(plan.cas.cluster, {
      source: "files",
      cert: join(dir, "new-ca", "ca.crt"),
      key: join(dir, "ca.key"),
    });
    assert.ok(
      isAbsolute(dirname(plan.cas.cluster.source === "files" ? plan.cas.cluster.cert : "")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local node roots and an ssh identityFile resolve against the plan file, digests as written", () => {
  const text = edit(minimalPlanText(), "roots: [/tmp/ca-rotator-test/cp-1]", "roots: [nodes/cp-1]");
  const local = parsePlan(text, "/repo/plans/p.yaml");
  assert.deepEqual(
    local.plan.nodes.controlPlane.driver === "local" && local.plan.nodes.controlPlane.roots,
    ["/repo/plans/nodes/cp-1"],
  );
  // The same plan elsewhere is the same rotation.
  assert.equal(parsePlan(text, "/elsewhere/p.yaml").digest, local.digest);

  const ssh = (identityFile: string) => {
    const loaded = parsePlan(
      edit(
        minimalPlanText(),
        "    driver: local\n    roots: [/tmp/ca-rotator-test/cp-1]\n",
        `    driver: ssh\n    identityFile: ${identityFile}\n` +
          "    hosts: [{ name: cp-1, address: 10.0.0.1 }]\n",
      ),
      "/repo/plans/p.yaml",
    );
    const group = loaded.plan.nodes.controlPlane;
    return group.driver === "ssh" ? group.identityFile : undefined;
  };
  assert.equal(ssh("keys/id_ed25519"), "/repo/plans/keys/id_ed25519");
  assert.equal(ssh("~/.ssh/id_ed25519"), "~/.ssh/id_ed25519");
  assert.equal(ssh("/etc/ca-rotator/id"), "/etc/ca-rotator/id");
});

Deno.test("a step's wait is a Go-style duration; a bad one is refused with line and field", () => {
  const withWait = (wait: string) =>
    minimalPlanText() +
    `  - { id: gate, phase: finalize, kind: verify-kubelet-rotation, wait: "${wait}" }\n`;
  const { plan } = parsePlan(withWait("1.5h"), "plans/test.yaml");
  const gate = plan.steps.at(-1);
  assert.ok(gate?.kind === "verify-kubelet-rotation");
  assert.equal(gate.wait, "1.5h");

  assert.equal(
    refusedText(withWait("10")).message,
    'Cannot load plan "plans/test.yaml": line 29, steps[3].wait: invalid duration "10": ' +
      "missing unit after 10 (expected e.g. 300ms, 90s, 10m, 1.5h or 1h30m)",
  );
});

Deno.test("a plan file that does not exist is a PlanError", async () => {
  const error = await refused("plans/nonexistent.yaml");
  assert.equal(error.message, `Cannot load plan "plans/nonexistent.yaml": file not found`);
});

Deno.test("an unquoted ${VAR} in a flow mapping: the first error says to quote it, the cascade is cut", () => {
  const text = minimalPlanText().replace(
    /^( *)metadata:\n\1 {2}name: ([a-z-]+)$/m,
    "$1metadata: { name: ${PLAN_NAME}, labels: {} }",
  );
  assert.match(text, /\{ name: \$\{PLAN_NAME\}/, "the edit applies");
  const error = refusedText(text + "\n".repeat(3) + "extra: [\n  - { a: ${X} }\n".repeat(20));
  assert.match(
    error.problems[0].message,
    /^YAML syntax error: .*; quote the variable: "\$\{PLAN_NAME\}"/,
  );
  assert.ok(error.problems.length <= 6, `${error.problems.length} problems`);
  assert.match(error.problems.at(-1)!.message, /^\d+ more YAML syntax errors after these/);
});

Deno.test("an adaptive window: windowStart above batchSize, or with a fixed window, is refused with line and field", () => {
  const section = (fields: string) =>
    edit(minimalPlanText(), "steps:\n", `workloads:\n${fields}steps:\n`);
  const loaded = parsePlan(
    section("  window: adaptive\n  batchSize: 20\n  windowStart: 2\n"),
    "plans/test.yaml",
  );
  assert.equal(loaded.plan.workloads.window, "adaptive");
  assert.equal(loaded.plan.workloads.windowStart, 2);
  assert.equal(
    refusedText(section("  window: adaptive\n  batchSize: 4\n  windowStart: 5\n")).message
      .split("\n")[0],
    'Cannot load plan "plans/test.yaml": line 19, workloads.windowStart: windowStart (5) is above ' +
      "batchSize (4), the adaptive window's maximum",
  );
  assert.equal(
    refusedText(section("  windowStart: 2\n")).message,
    'Cannot load plan "plans/test.yaml": line 17, workloads.windowStart: windowStart applies to ' +
      "window: adaptive only (this window is fixed)",
  );
  // a step's own batchSize (2) below the section's adaptive start
  assert.equal(
    refusedText(section("  window: adaptive\n  batchSize: 8\n  windowStart: 3\n")).message,
    'Cannot load plan "plans/test.yaml": line 28, steps[1].batchSize: workloads.windowStart (3) ' +
      "is above batchSize (2), the adaptive window's maximum",
  );
  assert.equal(
    refusedText(
      edit(
        minimalPlanText(),
        "    batchSize: 2\n",
        "    batchSize: 2\n    window: adaptive\n    windowStart: 3\n",
      ),
    )
      .message,
    'Cannot load plan "plans/test.yaml": line 26, steps[1].windowStart: windowStart (3) is above ' +
      "batchSize (2), the adaptive window's maximum",
  );
});
