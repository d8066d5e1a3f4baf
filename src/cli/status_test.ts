import assert from "node:assert/strict";
import { driftLines, stepTable } from "./status.ts";

Deno.test("status table: the STATUS column is as wide as its widest value (interrupted)", () => {
  const lines = stepTable([
    {
      id: "distribute-cluster-ca",
      phase: "trust",
      kind: "distribute-ca",
      status: "done",
      attempts: 1,
      finishedAt: "2026-12-06T10:00:00Z",
    },
    {
      id: "apiserver-trust-bundle",
      phase: "trust",
      kind: "set-component-flags",
      status: "interrupted",
      attempts: 2,
      finishedAt: "",
      error: "interrupted by SIGTERM",
    },
    {
      id: "verify-trust",
      phase: "trust",
      kind: "verify",
      status: "pending",
      attempts: 0,
      finishedAt: "",
    },
  ]);
  assert.match(lines[0], /^STEP {20}PHASE {5}STATUS {7}ATTEMPTS {2}FINISHED$/);
  assert.match(lines[1], /^distribute-cluster-ca {3}trust {5}done {9}1 {9}2026-12-06T10:00:00Z$/);
  assert.match(lines[2], /^apiserver-trust-bundle {2}trust {5}interrupted {2}2$/);
  assert.equal(lines[3], `${"".padEnd(22)}  interrupted by SIGTERM`);
  assert.match(lines[4], /^verify-trust {12}trust {5}pending {6}0$/);
});

Deno.test("status drift lines: none, each drift with what the next run does, or not checked", () => {
  const finding = {
    target: { type: "file" as const, node: "cp-0", path: "/etc/kubernetes/scheduler.conf" },
    name: "cp-0:/etc/kubernetes/scheduler.conf",
    steps: ["kubeconfigs-trust-bundle"],
    reasons: ["certificate-authority-data → bundle"],
    action: "reapply" as const,
  };
  assert.deepEqual(driftLines({ checked: true, steps: ["a", "b"], findings: [], unchecked: [] }), [
    "drift: none (2 done steps re-checked on the nodes and in the cluster)",
  ]);
  assert.deepEqual(
    driftLines({
      checked: true,
      steps: ["kubeconfigs-trust-bundle"],
      findings: [finding],
      unchecked: [],
    }),
    [
      "drift: /etc/kubernetes/scheduler.conf on cp-0 is no longer what step kubeconfigs-trust-bundle " +
      "made (certificate-authority-data → bundle); the next run re-applies the step",
    ],
  );
  assert.match(
    driftLines({
      checked: true,
      steps: ["x"],
      findings: [finding, { ...finding, steps: ["activate-cluster-ca"], action: "hold" }],
      unchecked: [{ step: "y", error: "[y] observe: gone" }],
    }).join("\n"),
    /holds before it changes anything[^]*holds before it changes anything\ndrift: cannot re-check done step y: \[y\] observe: gone$/,
  );
  assert.deepEqual(driftLines({ checked: false, reason: "--no-drift" }), [
    "drift: not checked (--no-drift)",
  ]);
});
