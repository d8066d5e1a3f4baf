import assert from "node:assert/strict";
import { rolloutStatus, workloadAvailability, type WorkloadObject } from "./_rollout_status.ts";

function deployment(
  status: WorkloadObject["status"],
  options: { generation?: number; replicas?: number; paused?: boolean } = {},
): WorkloadObject {
  return {
    metadata: { name: "web", namespace: "default", generation: options.generation ?? 2 },
    spec: { replicas: options.replicas ?? 3, paused: options.paused },
    status,
  };
}

Deno.test("Deployment rollout: waits for the controller, updates, old replicas, availability", () => {
  const state = (status: WorkloadObject["status"], options = {}) =>
    rolloutStatus("Deployment", deployment(status, options)).state;
  // The controller has not seen the new template yet.
  assert.equal(
    state({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
    "progressing",
  );
  assert.equal(
    state({ observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }),
    "progressing",
  );
  // All updated, but an old replica is still terminating (status.replicas > replicas).
  const old = deployment({
    observedGeneration: 2,
    replicas: 4,
    updatedReplicas: 3,
    availableReplicas: 3,
  });
  assert.equal(rolloutStatus("Deployment", old).message, "1 old replicas pending termination");
  assert.equal(
    state({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }),
    "progressing",
  );
  assert.equal(
    state({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
    "complete",
  );
  // spec.replicas defaults to 1.
  assert.equal(
    rolloutStatus("Deployment", {
      metadata: { generation: 1 },
      spec: {},
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    }).state,
    "complete",
  );
  // Scaled to zero: nothing to wait for once observed.
  assert.equal(state({ observedGeneration: 2 }, { replicas: 0 }), "complete");
});

Deno.test("Deployment rollout: a passed progress deadline fails, a paused one is manual", () => {
  const failed = rolloutStatus(
    "Deployment",
    deployment({
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      conditions: [{
        type: "Progressing",
        status: "False",
        reason: "ProgressDeadlineExceeded",
        message: 'ReplicaSet "web-7d" has timed out progressing.',
      }],
    }),
  );
  assert.equal(failed.state, "failed");
  assert.match(failed.message, /timed out progressing/);
  assert.equal(rolloutStatus("Deployment", deployment({}, { paused: true })).state, "manual");
});

Deno.test("DaemonSet rollout: updated and available pods of those desired", () => {
  const daemonSet = (status: WorkloadObject["status"], strategy?: string): WorkloadObject => ({
    metadata: { generation: 5 },
    spec: { updateStrategy: strategy ? { type: strategy } : undefined },
    status,
  });
  const state = (status: WorkloadObject["status"]) =>
    rolloutStatus("DaemonSet", daemonSet(status)).state;
  assert.equal(
    state({ observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 3 }),
    "progressing",
  );
  assert.equal(
    state({
      observedGeneration: 5,
      desiredNumberScheduled: 3,
      updatedNumberScheduled: 2,
      numberAvailable: 3,
    }),
    "progressing",
  );
  assert.equal(
    state({
      observedGeneration: 5,
      desiredNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
    }),
    "progressing",
  );
  assert.equal(
    state({
      observedGeneration: 5,
      desiredNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
    }),
    "complete",
  );
  assert.equal(state({ observedGeneration: 5, desiredNumberScheduled: 0 }), "complete");
  assert.equal(rolloutStatus("DaemonSet", daemonSet({}, "OnDelete")).state, "manual");
});

Deno.test("StatefulSet rollout: ready replicas and revisions, partitions", () => {
  const statefulSet = (
    status: WorkloadObject["status"],
    partition?: number,
  ): WorkloadObject => ({
    metadata: { generation: 3 },
    spec: {
      replicas: 3,
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition } },
    },
    status: { observedGeneration: 3, ...status },
  });
  const state = (status: WorkloadObject["status"], partition?: number) =>
    rolloutStatus("StatefulSet", statefulSet(status, partition)).state;
  assert.equal(
    state({ readyReplicas: 2, currentRevision: "db-1", updateRevision: "db-2" }),
    "progressing",
  );
  assert.equal(
    state({ readyReplicas: 3, currentRevision: "db-1", updateRevision: "db-2" }),
    "progressing",
  );
  assert.equal(
    state({ readyReplicas: 3, currentRevision: "db-2", updateRevision: "db-2" }),
    "complete",
  );
  // Partition 2: only the pods at or above ordinal 2 (one pod) are updated.
  assert.equal(
    state({ readyReplicas: 3, updatedReplicas: 0, currentRevision: "a", updateRevision: "b" }, 2),
    "progressing",
  );
  assert.equal(
    state({ readyReplicas: 3, updatedReplicas: 1, currentRevision: "a", updateRevision: "b" }, 2),
    "complete",
  );
  assert.equal(
    rolloutStatus("StatefulSet", {
      metadata: { generation: 1 },
      spec: { updateStrategy: { type: "OnDelete" } },
    }).state,
    "manual",
  );
});

Deno.test("rolloutStatus: a deleted workload is done, an unknown kind is an error", () => {
  assert.equal(rolloutStatus("Deployment", undefined).state, "complete");
  assert.throws(() => rolloutStatus("CronJob", {}), /cannot judge the rollout of a CronJob/);
});

Deno.test("workloadAvailability: every wanted pod available", () => {
  assert.deepEqual(
    workloadAvailability("Deployment", { spec: { replicas: 2 }, status: { availableReplicas: 1 } }),
    { available: false, message: "1 of 2 available" },
  );
  assert.ok(
    workloadAvailability("Deployment", { spec: {}, status: { availableReplicas: 1 } }).available,
  );
  assert.ok(
    workloadAvailability("DaemonSet", { status: { desiredNumberScheduled: 3, numberAvailable: 3 } })
      .available,
  );
  assert.ok(
    !workloadAvailability("DaemonSet", {
      status: { desiredNumberScheduled: 3, numberAvailable: 2 },
    }).available,
  );
  assert.ok(
    workloadAvailability("StatefulSet", { spec: { replicas: 2 }, status: { readyReplicas: 2 } })
      .available,
  );
  assert.ok(workloadAvailability("DaemonSet", {}).available, "no pods wanted");
});
