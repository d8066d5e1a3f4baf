import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import { impactOf, renderImpact } from "./impact.ts";

const restart = (node: string, component: string): Change => ({
  action: "restart",
  target: { type: "component", node, component },
});
const roll = (name: string, replicas?: number): Change => ({
  action: "roll",
  target: { type: "workload", kind: "Deployment", namespace: "team-a", name, replicas },
});

Deno.test("impact: restarts per component and node, rolls per workload, one-replica workloads, gates", () => {
  const nodes = ["cp-1", "cp-2", "cp-3"];
  const impact = impactOf([
    {
      stepId: "apiserver-trust",
      phase: "trust",
      changes: nodes.map((n) => restart(n, "kube-apiserver")),
    },
    { stepId: "roll-trust", phase: "trust", changes: [roll("web", 3), roll("db", 1)] },
    {
      stepId: "apiserver-switch",
      phase: "switch",
      changes: nodes.map((n) => restart(n, "kube-apiserver")),
    },
    { stepId: "roll-switch", phase: "switch", changes: [roll("web", 3), roll("db", 1)] },
    {
      stepId: "finalize-all",
      phase: "finalize",
      changes: [restart("cp-1", "kube-apiserver"), restart("worker-1", "kubelet"), roll("web", 3)],
    },
  ], [
    {
      id: "apiserver-trust",
      phase: "trust",
      kind: "set-component-flags",
      healthTimeoutSeconds: 120,
    },
    { id: "roll-trust", phase: "trust", kind: "roll-workloads" },
    { id: "verify-trust", phase: "trust", kind: "verify", timeoutSeconds: 300 },
    { id: "apiserver-switch", phase: "switch", kind: "set-component-flags" },
    { id: "roll-switch", phase: "switch", kind: "roll-workloads", batchSize: 1 },
    { id: "pod-trust-gate", phase: "switch", kind: "verify-pod-trust" },
    { id: "finalize-all", phase: "finalize", kind: "restart-component" },
    {
      id: "kubelet-rotation-gate",
      phase: "finalize",
      kind: "verify-kubelet-rotation",
      wait: "30m",
    },
  ], { workloads: { batchSize: 5, timeoutSeconds: 600 }, rates: { "restart-component": 4 } });
  assert.deepEqual(impact.restarts, [
    { component: "kube-apiserver", nodes: 3, times: 3, phases: ["trust", "switch", "finalize"] },
    { component: "kubelet", nodes: 1, times: 1, phases: ["finalize"] },
  ]);
  assert.deepEqual(impact.workloads, {
    rolled: 2,
    times: 3,
    phases: ["trust", "switch", "finalize"],
    singleReplica: ["Deployment/team-a/db"],
  });
  assert.deepEqual(impact.gates.map((gate) => gate.step), [
    "pod-trust-gate",
    "kubelet-rotation-gate",
  ]);
  assert.deepEqual(renderImpact(impact), [
    "Impact of the rest of the plan:",
    "  kube-apiserver restarts 3 times on each of 3 nodes (trust, switch, finalize), one node at a time",
    "  kubelet restarts once on its node (finalize), control-plane nodes one at a time, then the workers in the step's window",
    "  2 workloads rolled, 3 times at most (trust, switch, finalize)",
    "  1 workload with one replica, unavailable while each roll replaces its pod: Deployment/team-a/db",
    "  gate pod-trust-gate (switch): a run stops there (exit 3) until no running pod trusts the old CA only",
    "  gate kubelet-rotation-gate (finalize): a run stops there (exit 3) until every kubelet has a client certificate of the new CA",
    "  duration of each phase (expected, gates passing at once; at most, every timeout and gate wait spent):",
    "    trust: about 3m, at most 21m (assumed per-change times: no step of its kinds has run yet)",
    "    switch: about 4m, at most 22m (assumed per-change times: no step of its kinds has run yet)",
    "    finalize: about 12s, at most 30m (1 of its steps from this rotation's measured steps)",
  ]);
  // trust: 3 API server restarts (30 s each, up to 120 s), one window of 2 rollouts (60 s, up
  // to 600 s), a verify that may wait 300 s.
  assert.deepEqual(impact.durations[0], {
    phase: "trust",
    expectedSeconds: 3 * 30 + 60,
    atMostSeconds: 3 * 120 + 600 + 300,
    measuredSteps: [],
  });
  // switch: the roll window of 1 rolls the two workloads one after the other.
  assert.equal(impact.durations[1].expectedSeconds, 3 * 30 + 2 * 60);
  // finalize: 3 changes of a kind measured at 4 s a change, and the gate's 30 minutes.
  assert.equal(impact.durations[2].expectedSeconds, 12);
  assert.equal(impact.durations[2].atMostSeconds, 1800 + 12);
  assert.deepEqual(renderImpact(impactOf([], [])), [], "nothing left: nothing said");
});
