import assert from "node:assert/strict";
import {
  alreadyRolled,
  type ObservedWorkload,
  rollChanges,
  rollGroup,
  sortForRoll,
  windowError,
  workloadName,
  type WorkloadRef,
} from "./roll_workloads.ts";
import { rotationMark } from "./_annotations.ts";
import { rollingWindow } from "./_rolling_window.ts";
import { ObjectWaitError } from "./_watch_object.ts";

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

Deno.test("roll window: the order group (kube-system) is fully rolled before the rest starts", async () => {
  const workloads = sortForRoll([
    w("Deployment", "kube-system", "coredns"),
    w("DaemonSet", "kube-system", "kube-proxy"),
    w("Deployment", "a", "one"),
    w("Deployment", "b", "two"),
    w("Deployment", "c", "three"),
  ], settings);
  const events: string[] = [];
  let inFlight = 0;
  let most = 0;
  const outcome = await rollingWindow(workloads, 2, async (workload) => {
    inFlight++;
    most = Math.max(most, inFlight);
    events.push(`start ${workloadName(workload)}`);
    await new Promise((resolve) => setTimeout(resolve, workload.name === "one" ? 20 : 1));
    events.push(`end ${workloadName(workload)}`);
    inFlight--;
  }, { group: rollGroup(settings.order) });
  assert.equal(outcome.done.length, 5);
  assert.equal(most, 2);
  const firstApp = events.indexOf("start Deployment/a/one");
  assert.ok(events.indexOf("end DaemonSet/kube-system/kube-proxy") < firstApp);
  assert.ok(events.indexOf("end Deployment/kube-system/coredns") < firstApp);
  // "two" and "three" ran while the slow "one" was still in flight: a window, not batches
  assert.ok(events.indexOf("end Deployment/c/three") < events.indexOf("end Deployment/a/one"));
});

Deno.test("windowError: names each failed rollout, how many were never started and were in flight", () => {
  const error = windowError({
    failed: [
      {
        item: w("Deployment", "a", "two"),
        error: new ObjectWaitError("Deployment/a/two: timed out: 0 of 1 updated", undefined),
      },
      { item: w("DaemonSet", "b", "agent"), error: new Error("cannot annotate: forbidden") },
    ],
    notStarted: [w("Deployment", "c", "x"), w("Deployment", "c", "y")],
    stoppedWith: { inFlight: 2, size: 3 },
  }, 5);
  assert.equal(
    error.message,
    "2 of 5 rollouts did not complete; 2 not started (stopped at the first failure); " +
      "stopped new starts with 2 in flight (window 3):\n" +
      "  Deployment/a/two: timed out: 0 of 1 updated\n" +
      "  DaemonSet/b/agent: cannot annotate: forbidden",
  );
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
