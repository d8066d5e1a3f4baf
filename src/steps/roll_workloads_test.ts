import assert from "node:assert/strict";
import {
  alreadyRolled,
  type ObservedWorkload,
  rollBatches,
  rollChanges,
  rotationMark,
  sortForRoll,
  workloadName,
  type WorkloadRef,
} from "./roll_workloads.ts";

const settings = {
  kinds: ["DaemonSet", "Deployment"] as ("Deployment" | "DaemonSet" | "StatefulSet")[],
  namespaces: { include: ["*"], exclude: [] },
  batchSize: 2,
  timeoutSeconds: 60,
  order: ["kube-system"],
};

const w = (kind: WorkloadRef["kind"], namespace: string, name: string): WorkloadRef => ({
  kind,
  namespace,
  name,
});

Deno.test("sortForRoll: order namespaces first, then namespaces, kinds and names", () => {
  const sorted = sortForRoll([
    w("Deployment", "team-b", "api"),
    w("Deployment", "default", "web"),
    w("Deployment", "kube-system", "coredns"),
    w("DaemonSet", "team-b", "agent"),
    w("DaemonSet", "kube-system", "kube-proxy"),
    w("Deployment", "default", "app"),
  ], settings);
  assert.deepEqual(sorted.map(workloadName), [
    "DaemonSet/kube-system/kube-proxy",
    "Deployment/kube-system/coredns",
    "Deployment/default/app",
    "Deployment/default/web",
    "DaemonSet/team-b/agent",
    "Deployment/team-b/api",
  ]);
});

Deno.test("rollBatches: at most batchSize, never mixing an order group with the rest", () => {
  const workloads = sortForRoll([
    w("Deployment", "kube-system", "coredns"),
    w("DaemonSet", "kube-system", "kube-proxy"),
    w("Deployment", "kube-system", "metrics-server"),
    w("Deployment", "a", "one"),
    w("Deployment", "b", "two"),
    w("Deployment", "c", "three"),
  ], settings);
  const batches = rollBatches(workloads, settings.order, 2).map((batch) => batch.map(workloadName));
  assert.deepEqual(batches, [
    ["DaemonSet/kube-system/kube-proxy", "Deployment/kube-system/coredns"],
    ["Deployment/kube-system/metrics-server"],
    ["Deployment/a/one", "Deployment/b/two"],
    ["Deployment/c/three"],
  ]);
  assert.equal(rollBatches(workloads, [], 100).length, 1);
  assert.equal(rollBatches(workloads, [], 1).length, 6);
  assert.deepEqual(rollBatches([], ["kube-system"], 5), []);
  assert.throws(() => rollBatches(workloads, [], 0), /batch size must be a positive/);
});

Deno.test("rollBatches: several order groups, each batched on its own", () => {
  const order = ["kube-system", "ingress-*"];
  const workloads = [
    w("Deployment", "kube-system", "a"),
    w("Deployment", "ingress-a", "b"),
    w("Deployment", "ingress-b", "c"),
    w("Deployment", "web", "d"),
  ];
  assert.deepEqual(rollBatches(workloads, order, 5).map((batch) => batch.length), [1, 2, 1]);
});

Deno.test("rollChanges: one roll per workload this step has not rolled for this rotation", () => {
  const mark = rotationMark({ cluster: "ab".repeat(32) });
  const workloads: ObservedWorkload[] = [
    { ...w("DaemonSet", "kube-system", "kube-proxy"), rolledBy: "roll-trust", rolledFor: mark },
    { ...w("Deployment", "kube-system", "coredns"), rolledBy: "roll-other", rolledFor: mark },
    { ...w("Deployment", "default", "web") },
    // Rolled by a step with the same id in an earlier rotation: rolled again.
    { ...w("Deployment", "default", "old"), rolledBy: "roll-trust", rolledFor: "cluster:0000" },
  ];
  const changes = rollChanges({ stepId: "roll-trust", mark, settings, workloads });
  assert.deepEqual(changes.map((change) => change.action), ["roll", "roll", "roll"]);
  assert.deepEqual(changes.map((change) => change.target), [
    { type: "workload", kind: "Deployment", namespace: "kube-system", name: "coredns" },
    { type: "workload", kind: "Deployment", namespace: "default", name: "web" },
    { type: "workload", kind: "Deployment", namespace: "default", name: "old" },
  ]);
  // Once every workload carries the annotations, nothing is left to do.
  const done = workloads.map((each) => ({ ...each, rolledBy: "roll-trust", rolledFor: mark }));
  assert.deepEqual(rollChanges({ stepId: "roll-trust", mark, settings, workloads: done }), []);
  assert.ok(alreadyRolled(done[0], "roll-trust", mark));
});

Deno.test("rotationMark: the new CAs' abbreviated fingerprints, sorted by CA name", () => {
  assert.equal(
    rotationMark({ frontProxy: "f".repeat(64), cluster: "c".repeat(64) }),
    `cluster:${"c".repeat(16)},frontProxy:${"f".repeat(16)}`,
  );
});
