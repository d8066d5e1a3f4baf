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
      phase: "trust",
      changes: [...nodes.map((n) => restart(n, "kube-apiserver")), roll("web", 3), roll("db", 1)],
    },
    {
      phase: "switch",
      changes: [...nodes.map((n) => restart(n, "kube-apiserver")), roll("web", 3), roll("db", 1)],
    },
    {
      phase: "finalize",
      changes: [restart("cp-1", "kube-apiserver"), restart("worker-1", "kubelet"), roll("web", 3)],
    },
  ], [
    { id: "verify-trust", phase: "trust", kind: "verify" },
    { id: "pod-trust-gate", phase: "switch", kind: "verify-pod-trust" },
    { id: "kubelet-rotation-gate", phase: "finalize", kind: "verify-kubelet-rotation" },
  ]);
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
    "  kubelet restarts once on its node (finalize), one node at a time",
    "  2 workloads rolled, 3 times at most (trust, switch, finalize)",
    "  1 workload with one replica, unavailable while each roll replaces its pod: Deployment/team-a/db",
    "  gate pod-trust-gate (switch): a run stops there (exit 3) until no running pod trusts the old CA only",
    "  gate kubelet-rotation-gate (finalize): a run stops there (exit 3) until every kubelet has a client certificate of the new CA",
  ]);
  assert.deepEqual(renderImpact(impactOf([], [])), [], "nothing left: nothing said");
});
