import assert from "node:assert/strict";
import { stepTable } from "./status.ts";

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
