// set-component-flags applies each edit by rewriting the manifest and then waiting, through the
// component's HTTP probe, until the kubelet has restarted it and it is healthy again. A component
// that comes back healthy needs a live component (and a kubelet): the end-to-end test against a
// real control plane covers that. Here apply runs in a dry run (the overlay, as the runner's dry
// run does) and on the real nodes up to the health wait, where no component answers.
import assert from "node:assert/strict";
import { hasChanges } from "../engine/change.ts";
import { manifestFlags } from "../formats/static_pod_manifest.ts";
import { setComponentFlags } from "./set_component_flags.ts";
import { assertRejectsNaming, changeOf, describe } from "./_test_assertions.ts";
import { LocalNodesCluster, recording } from "./_test_cluster.ts";
import { MANIFESTS } from "./_test_kubeadm_files.ts";

const CONTROLLER_MANAGER = `${MANIFESTS}/kube-controller-manager.yaml`;
const APISERVER = `${MANIFESTS}/kube-apiserver.yaml`;

/** The plan's controller-manager-trust-bundle step (plans/kubeadm.yaml). */
const controllerManagerStep = () =>
  setComponentFlags.schema.parse({
    id: "controller-manager-trust-bundle",
    phase: "trust",
    kind: "set-component-flags",
    component: "kube-controller-manager",
    flags: {
      "--root-ca-file": "/etc/kubernetes/pki/ca-bundle.crt",
      "--client-ca-file": "/etc/kubernetes/pki/ca-bundle.crt",
      "--requestheader-client-ca-file": "/etc/kubernetes/pki/front-proxy-ca-bundle.crt",
    },
  });

/** The plan's apiserver-trust-bundle step (plans/kubeadm.yaml). */
const apiserverStep = () =>
  setComponentFlags.schema.parse({
    id: "apiserver-trust-bundle",
    phase: "trust",
    kind: "set-component-flags",
    component: "kube-apiserver",
    flags: {
      "--client-ca-file": "/etc/kubernetes/pki/ca-bundle.crt",
      "--requestheader-client-ca-file": "/etc/kubernetes/pki/front-proxy-ca-bundle.crt",
      "--kubelet-certificate-authority": "/etc/kubernetes/pki/ca-bundle.crt",
    },
    ifPresent: ["--kubelet-certificate-authority"],
  });

Deno.test("set-component-flags: each node's manifest (0600) with the flags set, then that node's restart", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = controllerManagerStep();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    `update cp-1:${CONTROLLER_MANAGER}`,
    "restart cp-1/kube-controller-manager",
    `update cp-2:${CONTROLLER_MANAGER}`,
    "restart cp-2/kube-controller-manager",
  ]);
  for (const node of ["cp-1", "cp-2"]) {
    const change = changeOf(changes, node, CONTROLLER_MANAGER);
    assert.equal(change.target.type === "file" && change.target.mode, 0o600);
    const was = manifestFlags(change.before!);
    const now = manifestFlags(change.after!);
    for (const [flag, value] of Object.entries(step.flags)) assert.equal(now.get(flag), value);
    for (const [flag, value] of was) {
      if (!(flag in step.flags)) assert.equal(now.get(flag), value, `${flag} is kept`);
    }
    assert.equal(now.size, was.size, "no flag is added or dropped");
    // The rest of kubeadm's file is kept as it is: only the three flag lines differ.
    const beforeLines = change.before!.split("\n");
    const afterLines = change.after!.split("\n");
    assert.equal(afterLines.length, beforeLines.length);
    const differing = afterLines.filter((line, index) => line !== beforeLines[index]);
    assert.deepEqual(differing, [
      "    - --client-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
      "    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca-bundle.crt",
      "    - --root-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
    ]);
  }
});

Deno.test("set-component-flags: an ifPresent flag is changed where the manifest sets it and never added", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = apiserverStep();
  // cp-2's API server checks the kubelets' serving certificates; cp-1's (kubeadm's default) not.
  const cp2 = await cluster.read("cp-2", APISERVER);
  await cluster.put(
    "cp-2",
    APISERVER,
    cp2.replace(
      "    - --kubelet-client-key=",
      "    - --kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt\n    - --kubelet-client-key=",
    ),
    0o600,
  );
  const changes = setComponentFlags.diff(
    await setComponentFlags.observe(cluster.context(), step),
    step,
  );
  const cp1After = manifestFlags(changeOf(changes, "cp-1", APISERVER).after!);
  const cp2After = manifestFlags(changeOf(changes, "cp-2", APISERVER).after!);
  assert.equal(cp1After.has("--kubelet-certificate-authority"), false);
  assert.equal(
    cp2After.get("--kubelet-certificate-authority"),
    "/etc/kubernetes/pki/ca-bundle.crt",
  );
  for (const flags of [cp1After, cp2After]) {
    assert.equal(flags.get("--client-ca-file"), "/etc/kubernetes/pki/ca-bundle.crt");
    assert.equal(
      flags.get("--requestheader-client-ca-file"),
      "/etc/kubernetes/pki/front-proxy-ca-bundle.crt",
    );
  }
});

Deno.test("set-component-flags: an optional component without a manifest is skipped; a required one is refused", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ccm = (optional: boolean) =>
    setComponentFlags.schema.parse({
      id: "cloud-controller-manager-trust-bundle",
      phase: "trust",
      kind: "set-component-flags",
      component: "cloud-controller-manager",
      optional,
      flags: { "--root-ca-file": "/etc/kubernetes/pki/ca-bundle.crt" },
    });
  const ctx = cluster.context();
  assert.deepEqual(
    setComponentFlags.diff(await setComponentFlags.observe(ctx, ccm(true)), ccm(true)),
    [],
  );
  await setComponentFlags.verify(ctx, ccm(true));
  await assertRejectsNaming(
    setComponentFlags.observe(ctx, ccm(false)),
    "cp-1",
    `${MANIFESTS}/cloud-controller-manager.yaml`,
    "missing",
  );
});

Deno.test("set-component-flags: a dry run edits one node, waits for its component, then the next; nothing reaches the nodes", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = controllerManagerStep();
  const events: string[] = [];
  const dry = cluster.dryRun({ stepId: step.id });
  const ctx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(dry.controlPlane, events),
    events,
  });
  const before = await cluster.snapshot();
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);

  await setComponentFlags.apply(ctx, step, changes);

  assert.deepEqual(events, [
    `write cp-1:${CONTROLLER_MANAGER}`,
    "wait cp-1/kube-controller-manager to be healthy (https://127.0.0.1:10257/healthz)",
    `write cp-2:${CONTROLLER_MANAGER}`,
    "wait cp-2/kube-controller-manager to be healthy (https://127.0.0.1:10257/healthz)",
  ]);
  assert.deepEqual(await cluster.snapshot(), before);
  const again = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
  await setComponentFlags.verify(ctx, step);
});

Deno.test("set-component-flags: apply writes the first node's manifest (0600, backed up) and stops there while its component is not healthy", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = controllerManagerStep();
  const ctx = cluster.context({ stepId: step.id });
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  const original = await cluster.read("cp-2", CONTROLLER_MANAGER);

  await assertRejectsNaming(
    setComponentFlags.apply(ctx, step, changes),
    "cp-1/kube-controller-manager",
    "https://127.0.0.1:10257/healthz",
  );

  assert.equal(await cluster.read("cp-1", CONTROLLER_MANAGER), changes[0].after);
  assert.equal(await cluster.mode("cp-1", CONTROLLER_MANAGER), 0o600);
  const [backup] = await cluster.backups("cp-1", CONTROLLER_MANAGER);
  assert.equal(await cluster.read("cp-1", backup), changes[0].before);
  assert.equal(await cluster.read("cp-2", CONTROLLER_MANAGER), original, "cp-2 is not touched");
  // A resumed run picks up at the next node.
  assert.deepEqual(
    describe(setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step)),
    [`update cp-2:${CONTROLLER_MANAGER}`, "restart cp-2/kube-controller-manager"],
  );
});

Deno.test("set-component-flags: a resumed run waits for the component on the node already done before it writes the next", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = controllerManagerStep();
  const first = setComponentFlags.diff(
    await setComponentFlags.observe(cluster.context({ stepId: step.id }), step),
    step,
  );
  // The last run wrote cp-1's manifest and stopped (a crash, or its health wait timed out):
  // cp-1's controller-manager may still be on its way back.
  await cluster.put(
    "cp-1",
    CONTROLLER_MANAGER,
    changeOf(first, "cp-1", CONTROLLER_MANAGER).after!,
    0o600,
  );
  const cp1Health =
    "wait cp-1/kube-controller-manager to be healthy (https://127.0.0.1:10257/healthz)";

  // Dry run: cp-1 is waited for before anything of cp-2 is written.
  const events: string[] = [];
  const dry = cluster.dryRun({ stepId: step.id });
  const dryCtx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(dry.controlPlane, events),
    events,
  });
  const dryChanges = setComponentFlags.diff(await setComponentFlags.observe(dryCtx, step), step);
  assert.deepEqual(describe(dryChanges), [
    `update cp-2:${CONTROLLER_MANAGER}`,
    "restart cp-2/kube-controller-manager",
  ]);
  await setComponentFlags.apply(dryCtx, step, dryChanges);
  assert.deepEqual(events, [
    cp1Health,
    `write cp-2:${CONTROLLER_MANAGER}`,
    "wait cp-2/kube-controller-manager to be healthy (https://127.0.0.1:10257/healthz)",
  ]);

  // A real run: cp-1's component does not answer, so cp-2 is not touched.
  const original = await cluster.read("cp-2", CONTROLLER_MANAGER);
  const ctx = cluster.context({ stepId: step.id });
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  await assertRejectsNaming(
    setComponentFlags.apply(ctx, step, changes),
    "cp-1/kube-controller-manager",
    "https://127.0.0.1:10257/healthz",
  );
  assert.deepEqual(ctx.waits, [cp1Health.slice("wait ".length)]);
  assert.equal(await cluster.read("cp-2", CONTROLLER_MANAGER), original, "cp-2 is not touched");
  assert.deepEqual(await cluster.backups("cp-2", CONTROLLER_MANAGER), []);
});

Deno.test("set-component-flags: verify fails naming the node, manifest and flag whose value differs", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = controllerManagerStep();
  const ctx = cluster.context({ stepId: step.id });
  const error = await assertRejectsNaming(
    setComponentFlags.verify(ctx, step),
    "cp-1",
    CONTROLLER_MANAGER,
  );
  assert.match(error.message, /--(root-ca-file|client-ca-file|requestheader-client-ca-file)/);

  // Once both nodes carry the flags, verify passes; an operator reverting cp-2 makes it fail.
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  for (const node of ["cp-1", "cp-2"]) {
    await cluster.put(
      node,
      CONTROLLER_MANAGER,
      changeOf(changes, node, CONTROLLER_MANAGER).after!,
      0o600,
    );
  }
  await setComponentFlags.verify(ctx, step);
  await cluster.put(
    "cp-2",
    CONTROLLER_MANAGER,
    changeOf(changes, "cp-2", CONTROLLER_MANAGER).after!.replace(
      "--root-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
      "--root-ca-file=/etc/kubernetes/pki/ca.crt",
    ),
    0o600,
  );
  await assertRejectsNaming(
    setComponentFlags.verify(ctx, step),
    "cp-2",
    CONTROLLER_MANAGER,
    "--root-ca-file",
  );
});

Deno.test("set-component-flags: verify fails on a required flag the manifest does not set and on a missing manifest; an absent ifPresent flag passes", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = apiserverStep();
  const ctx = cluster.context({ stepId: step.id });
  const changes = setComponentFlags.diff(await setComponentFlags.observe(ctx, step), step);
  for (const node of ["cp-1", "cp-2"]) {
    await cluster.put(node, APISERVER, changeOf(changes, node, APISERVER).after!, 0o600);
  }
  // Neither node sets --kubelet-certificate-authority (ifPresent): that is as it should be.
  await setComponentFlags.verify(ctx, step);

  // An operator (or a bad merge) dropped --client-ca-file from cp-2: the API server would fall
  // back to no client-certificate authentication at all.
  const converged = await cluster.read("cp-2", APISERVER);
  const dropped = converged.replace(
    "    - --client-ca-file=/etc/kubernetes/pki/ca-bundle.crt\n",
    "",
  );
  assert.notEqual(dropped, converged);
  assert.equal(manifestFlags(dropped).has("--client-ca-file"), false);
  await cluster.put("cp-2", APISERVER, dropped, 0o600);
  await assertRejectsNaming(
    setComponentFlags.verify(ctx, step),
    "cp-2",
    APISERVER,
    "--client-ca-file",
  );

  // A required manifest that is gone is not "done".
  await cluster.put("cp-2", APISERVER, converged, 0o600);
  await setComponentFlags.verify(ctx, step);
  await Deno.remove(cluster.node("cp-2").hostPath(APISERVER));
  await assertRejectsNaming(setComponentFlags.verify(ctx, step), "cp-2", APISERVER, "missing");
});

Deno.test("set-component-flags: plan rules: ifPresent names only flags of the step", async () => {
  await using cluster = await LocalNodesCluster.create();
  assert.deepEqual(setComponentFlags.rules?.(apiserverStep(), cluster.plan), []);
  const step = setComponentFlags.schema.parse({
    ...apiserverStep(),
    ifPresent: ["--kubelet-certificate-authority", "--tls-cert-file"],
  });
  assert.deepEqual(setComponentFlags.rules?.(step, cluster.plan), [
    { path: ["ifPresent", 1], message: `"--tls-cert-file" is not one of this step's flags` },
  ]);
});

Deno.test("set-component-flags: the schema fills defaults and refuses empty or malformed flags", () => {
  const step = controllerManagerStep();
  assert.deepEqual(step.ifPresent, []);
  assert.equal(step.optional, false);
  assert.equal(step.healthTimeoutSeconds, 120);
  assert.deepEqual(setComponentFlags.tuning, ["healthTimeoutSeconds"]);
  const base = {
    id: "s",
    phase: "trust",
    kind: "set-component-flags",
    component: "kube-scheduler",
  };
  assert.equal(setComponentFlags.schema.safeParse({ ...base, flags: {} }).success, false);
  assert.equal(
    setComponentFlags.schema.safeParse({ ...base, flags: { "client-ca-file": "/x" } }).success,
    false,
  );
});
