import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import type { Progress } from "../engine/progress.ts";
import {
  ASSUMED_SECONDS,
  measuredRates,
  phaseDurations,
  readableSeconds,
  renderPhaseDurations,
  stepDuration,
} from "./phase_durations.ts";

const restart = (node: string, component: string): Change => ({
  action: "restart",
  target: { type: "component", node, component },
});
const roll = (name: string): Change => ({
  action: "roll",
  target: { type: "workload", kind: "Deployment", namespace: "apps", name },
});
const write = (node: string): Change => ({
  action: "update",
  target: { type: "file", node, path: "/etc/kubernetes/pki/ca.crt" },
  before: "a",
  after: "b",
});

Deno.test("a step's figures: restarts one at a time, kubelets and rolls in windows, timeouts bound them", () => {
  const flags = stepDuration({
    id: "apiserver-trust-bundle",
    phase: "trust",
    kind: "set-component-flags",
    changes: [write("cp-1"), restart("cp-1", "kube-apiserver"), restart("cp-2", "kube-apiserver")],
    healthTimeoutSeconds: 180,
  });
  assert.deepEqual(flags, {
    expected: 1 + 2 * ASSUMED_SECONDS.componentRestart,
    atMost: 1 + 2 * 180,
    measured: false,
  });
  const kubelets = stepDuration({
    id: "roll-kubelets",
    phase: "trust",
    kind: "roll-kubelets",
    changes: ["w-1", "w-2", "w-3", "w-4", "w-5"].map((node) => restart(node, "kubelet")),
    batchSize: 2,
    healthTimeoutSeconds: 300,
  });
  assert.equal(kubelets.expected, 3 * ASSUMED_SECONDS.kubeletRestart, "5 kubelets, 2 at a time");
  assert.equal(kubelets.atMost, 3 * 300);
  const withControlPlane = stepDuration({
    id: "roll-kubelets",
    phase: "trust",
    kind: "roll-kubelets",
    changes: ["cp-1", "cp-2", "cp-3", "w-1", "w-2", "w-3", "w-4"].map((node) =>
      restart(node, "kubelet")
    ),
    batchSize: 4,
    window: "adaptive",
    healthTimeoutSeconds: 300,
    controlPlane: ["cp-1", "cp-2", "cp-3"],
  });
  assert.equal(
    withControlPlane.expected,
    (3 + 1) * ASSUMED_SECONDS.kubeletRestart,
    "3 control-plane kubelets one at a time, then 4 workers at once",
  );
  assert.equal(withControlPlane.atMost, (3 + 4) * 300, "the adaptive window may shrink to 1");
  const rolls = stepDuration({
    id: "roll-workloads-trust",
    phase: "trust",
    kind: "roll-workloads",
    changes: Array.from({ length: 12 }, (_, i) => roll(`app-${i}`)),
    batchSize: 5,
    timeoutSeconds: 600,
  });
  assert.equal(rolls.expected, 3 * ASSUMED_SECONDS.rollout, "12 rollouts, 5 in flight");
  assert.equal(rolls.atMost, 3 * 600);
  const adaptive = stepDuration({
    id: "roll-workloads-trust",
    phase: "trust",
    kind: "roll-workloads",
    changes: Array.from({ length: 12 }, (_, i) => roll(`app-${i}`)),
    batchSize: 5,
    window: "adaptive",
    timeoutSeconds: 600,
  });
  assert.equal(adaptive.expected, 3 * ASSUMED_SECONDS.rollout, "at its maximum when healthy");
  assert.equal(adaptive.atMost, 12 * 600, "shrunk to 1 by slow ones");
  const gate = stepDuration({
    id: "kubelet-rotation-gate",
    phase: "finalize",
    kind: "verify-kubelet-rotation",
    changes: [],
    wait: "30m",
  });
  assert.deepEqual(gate, { expected: 0, atMost: 1800, measured: false });
});

Deno.test("measured rates: seconds per change of each kind from the done steps; the rest assumed", () => {
  const progress: Progress = {
    plan: "p",
    planDigest: "d",
    caFingerprints: {},
    stopAfter: "trust",
    steps: {
      "apiserver-trust-bundle": {
        status: "done",
        attempts: 1,
        digest: "x",
        startedAt: "2026-12-06T10:00:00Z",
        finishedAt: "2026-12-06T10:01:30Z",
        changes: 9,
      },
      "scheduler-trust-bundle": {
        status: "failed",
        attempts: 1,
        digest: "y",
        startedAt: "2026-12-06T10:02:00Z",
        finishedAt: "2026-12-06T10:09:00Z",
        changes: 3,
      },
    },
  };
  const kinds: Record<string, string> = {
    "apiserver-trust-bundle": "set-component-flags",
    "scheduler-trust-bundle": "set-component-flags",
  };
  const rates = measuredRates(progress, (id) => kinds[id]);
  assert.deepEqual(
    rates,
    { "set-component-flags": 10 },
    "90 s for 9 changes; a failed step is not a measure",
  );
  const [switchPhase, finalize] = phaseDurations([
    {
      id: "apiserver-switch",
      phase: "switch",
      kind: "set-component-flags",
      changes: [write("cp-1"), restart("cp-1", "kube-apiserver")],
      healthTimeoutSeconds: 180,
    },
    {
      id: "roll-workloads-final",
      phase: "finalize",
      kind: "roll-workloads",
      changes: [roll("a")],
      batchSize: 5,
      timeoutSeconds: 600,
    },
  ], rates);
  assert.deepEqual(switchPhase, {
    phase: "switch",
    expectedSeconds: 20,
    atMostSeconds: 181,
    measuredSteps: ["apiserver-switch"],
  });
  assert.deepEqual(finalize, {
    phase: "finalize",
    expectedSeconds: ASSUMED_SECONDS.rollout,
    atMostSeconds: 600,
    measuredSteps: [],
  });
  assert.deepEqual(measuredRates(undefined, () => undefined), {});
});

Deno.test("phase durations read as a person reads them", () => {
  assert.equal(readableSeconds(45), "45s");
  assert.equal(readableSeconds(185), "3m");
  assert.equal(readableSeconds(4800), "1h 20m");
  assert.equal(readableSeconds(7200), "2h");
  assert.deepEqual(
    renderPhaseDurations([{
      phase: "trust",
      expectedSeconds: 400,
      atMostSeconds: 4200,
      measuredSteps: [],
    }]),
    [
      "  trust: about 7m, at most 1h 10m (assumed per-change times: no step of its kinds has run yet)",
    ],
  );
});
