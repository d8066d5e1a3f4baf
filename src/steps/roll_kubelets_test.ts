// The file part of roll-kubelets: what it writes on each node and how it restarts the kubelets.
// Seeing a restarted kubelet back (its Node Ready, its Lease renewed) and the step's verify need
// the Kubernetes API: the end-to-end test against a real control plane covers them. Here the
// context's API throws on any use, so apply on the nodes runs up to that wait.
import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { hasChanges } from "../engine/change.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import { kubeletConfigFacts } from "../formats/kubelet_config.ts";
import { activateCa } from "./activate_ca.ts";
import { distributeCa } from "./distribute_ca.ts";
import { kubeletRollOrder, rollKubelets } from "./roll_kubelets.ts";
import { stepNeedsEarlier } from "../plan/step_format.ts";
import { assertRejectsNaming, changeOf, describe } from "./_test_assertions.ts";
import {
  type ClusterOptions,
  LocalNodesCluster,
  RECORD_KUBELET_RESTART,
  recording,
} from "./_test_cluster.ts";
import { KUBELET_CONF, KUBELET_CONFIG, PKI } from "./_test_kubeadm_files.ts";
import { fingerprints } from "./_test_pki.ts";

const BUNDLE = `${PKI}/ca-bundle.crt`;
const RESTARTS = "/var/log/kubelet-restarts";
const PENDING = "/var/lib/ca-rotator/kubelet-restart-pending";

/** The plan's roll-kubelets-trust-bundle / roll-kubelets-trust-new steps (plans/kubeadm.yaml). */
const stepOf = (fields: Record<string, unknown> = {}) =>
  rollKubelets.schema.parse({
    id: "roll-kubelets-trust-bundle",
    phase: "trust",
    kind: "roll-kubelets",
    clientCA: "bundle",
    ...fields,
  });

/** A cluster where distribute-ca (and, with `activate`, activate-ca) ran for the cluster CA. */
async function distributed(options: ClusterOptions & { activate?: boolean } = {}) {
  const cluster = await LocalNodesCluster.create(options);
  const ctx = cluster.context();
  const distribute = distributeCa.schema.parse({
    id: "d",
    phase: "trust",
    kind: "distribute-ca",
    ca: "cluster",
  });
  await distributeCa.apply(
    ctx,
    distribute,
    distributeCa.diff(await distributeCa.observe(ctx, distribute), distribute),
  );
  if (options.activate) {
    const activate = activateCa.schema.parse({
      id: "a",
      phase: "switch",
      kind: "activate-ca",
      ca: "cluster",
    });
    await activateCa.apply(
      ctx,
      activate,
      activateCa.diff(await activateCa.observe(ctx, activate), activate),
    );
  }
  return cluster;
}

Deno.test("roll-kubelets: per node, the client CA file, clientCAFile and kubelet.conf (0600), then that kubelet's restart", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    `update cp-1:${KUBELET_CONFIG}`,
    `update cp-1:${KUBELET_CONF}`,
    "restart cp-1/kubelet",
    `update cp-2:${KUBELET_CONFIG}`,
    `update cp-2:${KUBELET_CONF}`,
    "restart cp-2/kubelet",
    `create worker-1:${BUNDLE}`,
    `update worker-1:${KUBELET_CONFIG}`,
    `update worker-1:${KUBELET_CONF}`,
    "restart worker-1/kubelet",
  ]);
  const bundle = [
    ...await fingerprints(cluster.cas.oldCluster.certPem),
    ...await fingerprints(cluster.cas.newCluster.certPem),
  ];
  assert.deepEqual(await fingerprints(changeOf(changes, "worker-1", BUNDLE).after!), bundle);
  for (const node of ["cp-1", "cp-2", "worker-1"]) {
    const config = changeOf(changes, node, KUBELET_CONFIG);
    assert.deepEqual(kubeletConfigFacts(config.after!), {
      clientCAFile: BUNDLE,
      rotateCertificates: true,
    });
    const configLines = config.before!.split("\n");
    assert.deepEqual(
      config.after!.split("\n").filter((line, index) => line !== configLines[index]),
      [`    clientCAFile: ${BUNDLE}`],
      "only clientCAFile changes",
    );
    const kubeconfig = changeOf(changes, node, KUBELET_CONF);
    assert.equal(kubeconfig.target.type === "file" && kubeconfig.target.mode, 0o600);
    assert.deepEqual(await fingerprints(kubeconfigCaData(kubeconfig.after!)[0]), bundle);
    assert.deepEqual(kubeconfigClientCert(kubeconfig.after!), {
      certPem: undefined,
      keyPem: undefined,
      certFile: "/var/lib/kubelet/pki/kubelet-client-current.pem",
      keyFile: "/var/lib/kubelet/pki/kubelet-client-current.pem",
    });
  }
});

/** A dry run's events on the nodes: control-plane nodes one at a time, then the worker. */
const ONE_AT_A_TIME = [
  `write cp-1:${PENDING}`,
  `write cp-1:${KUBELET_CONFIG}`,
  `write cp-1:${KUBELET_CONF}`,
  `run cp-1: ${RECORD_KUBELET_RESTART.join(" ")}`,
  `remove cp-1:${PENDING}`,
  "wait the kubelet of cp-1 to be back (Ready, Lease renewed)",
  `write cp-2:${PENDING}`,
  `write cp-2:${KUBELET_CONFIG}`,
  `write cp-2:${KUBELET_CONF}`,
  `run cp-2: ${RECORD_KUBELET_RESTART.join(" ")}`,
  `remove cp-2:${PENDING}`,
  "wait the kubelet of cp-2 to be back (Ready, Lease renewed)",
  `write worker-1:${PENDING}`,
  `write worker-1:${BUNDLE}`,
  `write worker-1:${KUBELET_CONFIG}`,
  `write worker-1:${KUBELET_CONF}`,
  `run worker-1: ${RECORD_KUBELET_RESTART.join(" ")}`,
  `remove worker-1:${PENDING}`,
  "wait the kubelet of worker-1 to be back (Ready, Lease renewed)",
];

Deno.test("roll-kubelets: a dry run writes a node's files, restarts its kubelet, then waits; nothing reaches the nodes", async () => {
  await using cluster = await distributed();
  await dryRunEvents(cluster, { batchSize: 1 }, ONE_AT_A_TIME);
});

Deno.test("roll-kubelets: control-plane nodes one at a time whatever the window (fixed 2, adaptive up to 4)", async () => {
  await using cluster = await distributed();
  await dryRunEvents(cluster, { batchSize: 2 }, ONE_AT_A_TIME);
  await dryRunEvents(cluster, { batchSize: 4, window: "adaptive", windowStart: 2 }, ONE_AT_A_TIME);
});

/**
 * Pure: the nodes whose kubelet restarted while another's (of `nodes`) was restarted and not yet
 * seen back: `["cp-1", "cp-2"]` when cp-2 restarted before cp-1 was back.
 */
function downTogether(events: readonly string[], nodes: readonly string[]): string[][] {
  const down = new Set<string>();
  const overlaps: string[][] = [];
  for (const event of events) {
    const restarted = nodes.find((node) => event.startsWith(`run ${node}: `));
    const backAgain = nodes.find((node) =>
      event === `wait the kubelet of ${node} to be back (Ready, Lease renewed)`
    );
    if (restarted) {
      for (const other of down) overlaps.push([other, restarted]);
      down.add(restarted);
    }
    if (backAgain) down.delete(backAgain);
  }
  return overlaps;
}

/** Runs the step as a dry run with `fields`; its events on the nodes must be `expected`. */
async function dryRunEvents(
  cluster: LocalNodesCluster,
  fields: Record<string, unknown>,
  expected: readonly string[],
) {
  const step = stepOf(fields);
  const events: string[] = [];
  const dry = cluster.dryRun();
  const ctx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(dry.controlPlane, events),
    workers: recording(dry.workers, events),
    events,
  });
  const before = await cluster.snapshot();
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);

  await rollKubelets.apply(ctx, step, changes);

  assert.deepEqual(events, expected, JSON.stringify(fields));
  assert.deepEqual(downTogether(events, ["cp-1", "cp-2"]), [], "control plane: one at a time");
  assert.deepEqual(await cluster.snapshot(), before);
  const again = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
}

Deno.test("roll-kubelets: workers roll in the window; control-plane nodes one at a time, whatever it is", () => {
  const controlPlane = new Set(["cp-1", "cp-2", "cp-3"]);
  assert.deepEqual(kubeletRollOrder(["cp-1", "w-1", "cp-2", "w-2", "w-3", "cp-3"], controlPlane), {
    first: ["cp-1", "cp-2", "cp-3"],
    then: ["w-1", "w-2", "w-3"],
  });
  assert.deepEqual(kubeletRollOrder(["w-2"], controlPlane), { first: [], then: ["w-2"] });
});

Deno.test("roll-kubelets: negative control: nodes handed to the step as workers restart two at once in a window of two", async () => {
  await using cluster = await distributed();
  const step = stepOf({ batchSize: 2 });
  const events: string[] = [];
  const dry = cluster.dryRun();
  // cp-2 handed to the step as a worker: the window is its, and the check sees two kubelets down.
  const ctx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording([dry.controlPlane[0]], events),
    workers: recording([dry.controlPlane[1], ...dry.workers], events),
    events,
  });
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  await rollKubelets.apply(ctx, step, changes);
  assert.deepEqual(downTogether(events, ["cp-1", "cp-2", "worker-1"]), [["cp-2", "worker-1"]]);
  assert.ok(
    events.indexOf("wait the kubelet of cp-1 to be back (Ready, Lease renewed)") <
      events.indexOf(`write cp-2:${PENDING}`),
    "cp-1, the control-plane node, first and alone",
  );
});

Deno.test("roll-kubelets: apply writes the first node's files and restarts its kubelet, then needs the API to see it back", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  const before = await cluster.snapshot();

  await assertRejectsNaming(rollKubelets.apply(ctx, step, changes), "no Kubernetes API");

  assert.deepEqual(ctx.waits, ["the kubelet of cp-1 to be back (Ready, Lease renewed)"]);
  assert.equal(await cluster.read("cp-1", RESTARTS), "restarted\n");
  assert.equal(await cluster.node("cp-2").readFile(RESTARTS), undefined);
  assert.equal(kubeletConfigFacts(await cluster.read("cp-1", KUBELET_CONFIG)).clientCAFile, BUNDLE);
  assert.equal(
    await cluster.read("cp-1", KUBELET_CONF),
    changeOf(changes, "cp-1", KUBELET_CONF).after,
  );
  assert.equal(await cluster.mode("cp-1", KUBELET_CONF), 0o600);
  assert.equal(await cluster.read("cp-2", KUBELET_CONF), before.get(`cp-2:${KUBELET_CONF}`));
  assert.deepEqual(
    describe(rollKubelets.diff(await rollKubelets.observe(ctx, step), step)),
    describe(changes).filter((line) => !line.includes("cp-1")),
    "a resumed run goes on with the next node",
  );
});

Deno.test("roll-kubelets: a kubelet restart that fails stops the roll, naming the node and the command", async () => {
  await using cluster = await distributed({
    kubeletRestart: ["sh", "-c", "printf 'Unit %s not found.\\n' kubelet.service >&2; exit 5"],
  });
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  const before = await cluster.snapshot();
  await assertRejectsNaming(
    rollKubelets.apply(ctx, step, changes),
    "cp-1: kubelet restart (sh -c printf",
    "exited 5: Unit kubelet.service not found.",
  );
  assert.deepEqual(ctx.waits, []);
  assert.equal(await cluster.read("cp-2", KUBELET_CONFIG), before.get(`cp-2:${KUBELET_CONFIG}`));
});

Deno.test("roll-kubelets: clientCA new (finalize) leaves every kubelet trusting the new CA only", async () => {
  await using cluster = await distributed({ activate: true });
  const step = stepOf({ id: "roll-kubelets-trust-new", phase: "finalize", clientCA: "new" });
  const ctx = cluster.context({ stepId: step.id });
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [
    `update cp-1:${KUBELET_CONF}`,
    "restart cp-1/kubelet",
    `update cp-2:${KUBELET_CONF}`,
    "restart cp-2/kubelet",
    `update worker-1:${PKI}/ca.crt`,
    `update worker-1:${KUBELET_CONF}`,
    "restart worker-1/kubelet",
  ]);
  const newOnly = await fingerprints(cluster.cas.newCluster.certPem);
  assert.deepEqual(
    await fingerprints(changeOf(changes, "worker-1", `${PKI}/ca.crt`).after!),
    newOnly,
  );
  for (const node of ["cp-1", "cp-2", "worker-1"]) {
    const kubeconfig = changeOf(changes, node, KUBELET_CONF).after!;
    assert.deepEqual(await fingerprints(kubeconfigCaData(kubeconfig)[0]), newOnly);
  }
});

Deno.test("roll-kubelets: a kubelet.conf with a second, stale cluster entry is rewritten, not taken as done", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const first = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  const converged = changeOf(first, "worker-1", KUBELET_CONF).after!;
  // The first cluster holds the bundle already; a second one still holds the old CA only.
  const document = parseDocument(converged);
  document.addIn(["clusters"], {
    cluster: {
      "certificate-authority-data": btoa(cluster.cas.oldCluster.certPem),
      server: "https://198.18.1.2:6443",
    },
    name: "kubernetes-cp-2",
  });
  await cluster.put("worker-1", KUBELET_CONF, document.toString({ indentSeq: false }), 0o600);

  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  const rewritten = changeOf(changes, "worker-1", KUBELET_CONF).after!;
  const bundle = await fingerprints(kubeconfigCaData(converged)[0]);
  const held = kubeconfigCaData(rewritten);
  assert.equal(held.length, 2);
  for (const caData of held) assert.deepEqual(await fingerprints(caData), bundle);

  // With every cluster on the bundle, kubelet.conf is left alone.
  await cluster.put("worker-1", KUBELET_CONF, rewritten, 0o600);
  const after = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  assert.ok(!describe(after).includes(`update worker-1:${KUBELET_CONF}`));
});

Deno.test("roll-kubelets: observe refuses a node without its kubelet config or kubeconfig", async () => {
  await using cluster = await distributed();
  const ctx = cluster.context();
  await Deno.remove(cluster.node("worker-1").hostPath(KUBELET_CONF));
  await assertRejectsNaming(
    rollKubelets.observe(ctx, stepOf()),
    "worker-1",
    KUBELET_CONF,
    "missing",
  );
  await Deno.remove(cluster.node("cp-2").hostPath(KUBELET_CONFIG));
  await assertRejectsNaming(rollKubelets.observe(ctx, stepOf()), "cp-2", KUBELET_CONFIG, "missing");
});

Deno.test("roll-kubelets: the plan format: tuning fields, trust-set field, the cluster CA", async () => {
  await using cluster = await LocalNodesCluster.create({ workers: false });
  const step = stepOf();
  assert.equal(step.batchSize, 1);
  assert.equal(step.healthTimeoutSeconds, 300);
  assert.deepEqual(rollKubelets.tuning, [
    "batchSize",
    "window",
    "windowStart",
    "healthTimeoutSeconds",
  ]);
  assert.equal(step.window, undefined, "absent: a fixed window, as before");
  assert.deepEqual(rollKubelets.rules?.(stepOf({ windowStart: 2 }), cluster.plan), [{
    path: ["windowStart"],
    message: "windowStart applies to window: adaptive only (this window is fixed)",
  }]);
  assert.deepEqual(
    rollKubelets.rules?.(
      stepOf({ window: "adaptive", batchSize: 3, windowStart: 4 }),
      cluster.plan,
    ),
    [{
      path: ["windowStart"],
      message: "windowStart (4) is above batchSize (3), the adaptive window's maximum",
    }],
  );
  assert.deepEqual(
    rollKubelets.rules?.(
      stepOf({ window: "adaptive", batchSize: 3, windowStart: 3 }),
      cluster.plan,
    ),
    [],
  );
  assert.equal(rollKubelets.trustSetField, "clientCA");
  assert.deepEqual(rollKubelets.cas?.(step, cluster.plan), ["cluster"]);
  assert.equal(rollKubelets.schema.safeParse({ ...step, batchSize: 0 }).success, false);
});

Deno.test("roll-kubelets: the plan format: clientCA new needs an earlier activate-ca (it makes ca.crt the new CA), bundle does not", () => {
  assert.deepEqual(stepNeedsEarlier(rollKubelets, stepOf()), []);
  assert.deepEqual(
    stepNeedsEarlier(rollKubelets, stepOf({ phase: "switch", clientCA: "new" })),
    ["activate-ca"],
  );
});

Deno.test("roll-kubelets: a run killed after a node's files changed but before its kubelet restarted: the next run restarts it", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const changes = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  // What apply leaves when killed between cp-1's files and its kubelet restart.
  await cluster.node("cp-1").writeFile(PENDING, `${step.id}\n`, { mode: 0o600 });
  for (const path of [KUBELET_CONFIG, KUBELET_CONF]) {
    const change = changeOf(changes, "cp-1", path);
    await cluster.node("cp-1").writeFile(path, change.after!, { mode: 0o600 });
  }

  const resumed = rollKubelets.diff(await rollKubelets.observe(ctx, step), step);
  assert.deepEqual(
    describe(resumed).filter((line) => line.includes("cp-1")),
    ["restart cp-1/kubelet"],
    "its files are right, its kubelet still runs with the old ones",
  );
  await assertRejectsNaming(rollKubelets.apply(ctx, step, resumed), "no Kubernetes API");
  assert.equal(await cluster.read("cp-1", RESTARTS), "restarted\n");
  assert.equal(await cluster.node("cp-1").readFile(PENDING), undefined, "unmarked once restarted");
  assert.deepEqual(
    describe(rollKubelets.diff(await rollKubelets.observe(ctx, step), step)).filter((line) =>
      line.includes("cp-1")
    ),
    [],
  );
});
