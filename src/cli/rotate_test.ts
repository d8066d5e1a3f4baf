import assert from "node:assert/strict";
import { renderRoundTrips } from "./rotate.ts";

Deno.test("the run summary names the ssh round trips of every step that made some", () => {
  assert.equal(
    renderRoundTrips([
      { stepId: "distribute-cluster-ca", total: 9, maxPerNode: 3 },
      { stepId: "wait-root-ca-bundle", total: 0, maxPerNode: 0 },
      { stepId: "roll-kubelets-trust-bundle", total: 30, maxPerNode: 5 },
    ]),
    "ssh round trips: 39 — distribute-cluster-ca 9 (max 3 per node), " +
      "roll-kubelets-trust-bundle 30 (max 5 per node)",
  );
});
