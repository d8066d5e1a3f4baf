// restart-component restarts a component by marking its manifest, then waits through the
// component's HTTP probe until the kubelet has restarted it and it is healthy again. A component
// that comes back healthy needs a live component (and a kubelet): the end-to-end test against a
// real control plane covers that. Here apply runs in a dry run (the overlay, as the runner's dry
// run does) and on the real nodes up to the health wait, where no component answers.
//
// Its verify checks nothing (apply did the waiting), so there is no postcondition to break here.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { hasChanges } from "../engine/change.ts";
import { manifestAnnotation } from "../formats/static_pod_manifest.ts";
import { restartComponent } from "./restart_component.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { assertRejectsNaming, changeOf, describe } from "./_test_assertions.ts";
import { LocalNodesCluster, recording } from "./_test_cluster.ts";
import { MANIFESTS } from "./_test_kubeadm_files.ts";

const SCHEDULER = `${MANIFESTS}/kube-scheduler.yaml`;

const stepOf = (fields: Record<string, unknown> = {}) =>
  restartComponent.schema.parse({
    id: "restart-scheduler-trust",
    phase: "trust",
    kind: "restart-component",
    component: "kube-scheduler",
    ...fields,
  });

/** The pod without its annotations, to compare manifests up to the restart mark. */
function withoutAnnotations(manifest: string): unknown {
  const pod = parse(manifest);
  delete pod.metadata.annotations;
  return pod;
}

Deno.test("restart-component: marks each node's manifest (0600) with the step id, then restarts it", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = restartComponent.diff(await restartComponent.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    `update cp-1:${SCHEDULER}`,
    "restart cp-1/kube-scheduler",
    `update cp-2:${SCHEDULER}`,
    "restart cp-2/kube-scheduler",
  ]);
  for (const node of ["cp-1", "cp-2"]) {
    const change = changeOf(changes, node, SCHEDULER);
    assert.equal(change.target.type === "file" && change.target.mode, 0o600);
    assert.equal(manifestAnnotation(change.before!, RESTARTED_BY), undefined);
    assert.equal(manifestAnnotation(change.after!, RESTARTED_BY), "restart-scheduler-trust");
    assert.deepEqual(withoutAnnotations(change.after!), withoutAnnotations(change.before!));
  }
});

Deno.test("restart-component: named nodes are restarted in the order given, the others left alone", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ctx = cluster.context({ stepId: "restart-scheduler-trust" });
  const both = stepOf({ nodes: ["cp-2", "cp-1"] });
  assert.deepEqual(
    describe(restartComponent.diff(await restartComponent.observe(ctx, both), both)),
    [
      `update cp-2:${SCHEDULER}`,
      "restart cp-2/kube-scheduler",
      `update cp-1:${SCHEDULER}`,
      "restart cp-1/kube-scheduler",
    ],
  );
  const one = stepOf({ nodes: ["cp-2"] });
  assert.deepEqual(describe(restartComponent.diff(await restartComponent.observe(ctx, one), one)), [
    `update cp-2:${SCHEDULER}`,
    "restart cp-2/kube-scheduler",
  ]);
});

Deno.test("restart-component: a dry run restarts one node at a time; the step is then done, another step restarts again", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepOf();
  const events: string[] = [];
  const overlays = cluster.dryRun().controlPlane;
  const ctx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(overlays, events),
    events,
  });
  const before = await cluster.snapshot();
  const changes = restartComponent.diff(await restartComponent.observe(ctx, step), step);

  await restartComponent.apply(ctx, step, changes);

  assert.deepEqual(events, [
    `write cp-1:${SCHEDULER}`,
    "wait cp-1/kube-scheduler to be healthy (https://127.0.0.1:10259/readyz)",
    `write cp-2:${SCHEDULER}`,
    "wait cp-2/kube-scheduler to be healthy (https://127.0.0.1:10259/readyz)",
  ]);
  assert.deepEqual(await cluster.snapshot(), before);
  const again = restartComponent.diff(await restartComponent.observe(ctx, step), step);
  assert.deepEqual(again, [], "a resumed run does not restart a node again");
  assert.equal(hasChanges(again), false);

  const later = stepOf({ id: "restart-scheduler-switch", phase: "switch" });
  const laterCtx = cluster.context({ stepId: later.id, dryRun: true, controlPlane: overlays });
  const next = restartComponent.diff(await restartComponent.observe(laterCtx, later), later);
  assert.deepEqual(describe(next), [
    `update cp-1:${SCHEDULER}`,
    "restart cp-1/kube-scheduler",
    `update cp-2:${SCHEDULER}`,
    "restart cp-2/kube-scheduler",
  ]);
  assert.equal(manifestAnnotation(next[0].after!, RESTARTED_BY), "restart-scheduler-switch");
});

Deno.test("restart-component: apply marks the first node (0600, backed up) and stops there while its component is not healthy", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const changes = restartComponent.diff(await restartComponent.observe(ctx, step), step);
  const original = await cluster.read("cp-2", SCHEDULER);

  await assertRejectsNaming(
    restartComponent.apply(ctx, step, changes),
    "cp-1/kube-scheduler",
    "https://127.0.0.1:10259/readyz",
  );

  const cp1 = await cluster.read("cp-1", SCHEDULER);
  assert.equal(manifestAnnotation(cp1, RESTARTED_BY), step.id);
  assert.equal(await cluster.mode("cp-1", SCHEDULER), 0o600);
  assert.equal((await cluster.backups("cp-1", SCHEDULER)).length, 1);
  assert.equal(await cluster.read("cp-2", SCHEDULER), original, "cp-2 is not touched");
  assert.deepEqual(
    describe(restartComponent.diff(await restartComponent.observe(ctx, step), step)),
    [`update cp-2:${SCHEDULER}`, "restart cp-2/kube-scheduler"],
  );
});

Deno.test("restart-component: a resumed run waits for the component on the nodes it leaves alone before it restarts the next", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepOf();
  const first = restartComponent.diff(
    await restartComponent.observe(cluster.context({ stepId: step.id }), step),
    step,
  );
  // The last run marked cp-1 and stopped before cp-1's scheduler was seen healthy again.
  await cluster.put("cp-1", SCHEDULER, changeOf(first, "cp-1", SCHEDULER).after!, 0o600);
  const cp1Health = "wait cp-1/kube-scheduler to be healthy (https://127.0.0.1:10259/readyz)";

  const events: string[] = [];
  const ctxDry = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(cluster.dryRun().controlPlane, events),
    events,
  });
  const dryChanges = restartComponent.diff(await restartComponent.observe(ctxDry, step), step);
  assert.deepEqual(describe(dryChanges), [
    `update cp-2:${SCHEDULER}`,
    "restart cp-2/kube-scheduler",
  ]);
  await restartComponent.apply(ctxDry, step, dryChanges);
  assert.deepEqual(events, [
    cp1Health,
    `write cp-2:${SCHEDULER}`,
    "wait cp-2/kube-scheduler to be healthy (https://127.0.0.1:10259/readyz)",
  ]);

  // Named nodes: the ones not named are left alone, and checked all the same.
  const onlyCp1 = stepOf({ nodes: ["cp-1"] });
  const named: string[] = [];
  const namedCtx = cluster.context({
    stepId: "restart-scheduler-switch",
    dryRun: true,
    controlPlane: recording(cluster.dryRun().controlPlane, named),
    events: named,
  });
  await restartComponent.apply(
    namedCtx,
    onlyCp1,
    restartComponent.diff(await restartComponent.observe(namedCtx, onlyCp1), onlyCp1),
  );
  assert.deepEqual(named, [
    "wait cp-2/kube-scheduler to be healthy (https://127.0.0.1:10259/readyz)",
    `write cp-1:${SCHEDULER}`,
    cp1Health,
  ]);

  // A real run: cp-1's scheduler does not answer, so cp-2 is not restarted.
  const original = await cluster.read("cp-2", SCHEDULER);
  const ctx = cluster.context({ stepId: step.id });
  await assertRejectsNaming(
    restartComponent.apply(
      ctx,
      step,
      restartComponent.diff(await restartComponent.observe(ctx, step), step),
    ),
    "cp-1/kube-scheduler",
    "https://127.0.0.1:10259/readyz",
  );
  assert.equal(await cluster.read("cp-2", SCHEDULER), original, "cp-2 is not touched");
  assert.deepEqual(await cluster.backups("cp-2", SCHEDULER), []);
});

Deno.test("restart-component: observe refuses a missing manifest and a node it does not know", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
  await assertRejectsNaming(
    restartComponent.observe(ctx, stepOf({ nodes: ["cp-1", "cp-9"] })),
    "cp-9",
  );
  await Deno.remove(cluster.node("cp-2").hostPath(SCHEDULER));
  await assertRejectsNaming(restartComponent.observe(ctx, stepOf()), "cp-2", SCHEDULER, "missing");
});

Deno.test("restart-component: plan rules: named nodes must be control-plane nodes of the plan", async () => {
  await using cluster = await LocalNodesCluster.create();
  assert.deepEqual(restartComponent.rules?.(stepOf(), cluster.plan), []);
  assert.deepEqual(restartComponent.rules?.(stepOf({ nodes: ["cp-2", "cp-1"] }), cluster.plan), []);
  assert.deepEqual(
    restartComponent.rules?.(stepOf({ nodes: ["cp-1", "worker-1", "cp-3"] }), cluster.plan),
    [
      { path: ["nodes", 1], message: 'unknown control-plane node "worker-1" (nodes: cp-1, cp-2)' },
      { path: ["nodes", 2], message: 'unknown control-plane node "cp-3" (nodes: cp-1, cp-2)' },
    ],
  );
});

Deno.test("restart-component: the schema defaults to every node and refuses an empty list", () => {
  const step = stepOf();
  assert.equal(step.nodes, "all");
  assert.equal(step.healthTimeoutSeconds, 120);
  const empty = restartComponent.schema.safeParse({ ...step, nodes: [] });
  assert.equal(empty.success, false);
  assert.match(JSON.stringify(empty.error?.issues), /must name at least one node/);
});
