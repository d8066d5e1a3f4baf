import assert from "node:assert/strict";
import { planDrift } from "./plan_drift.ts";
import type { Progress } from "./progress.ts";

const plan = { name: "p", stepDigests: {}, caFingerprints: {} };
const record: Progress = {
  plan: "p",
  planDigest: "sha256:x",
  caFingerprints: {},
  stopAfter: "trust",
  steps: {},
};

Deno.test("a rollback under way holds rotate back until it has finished; a finished one does not", () => {
  const underWay = { ...record, rollback: { startedAt: "2026-01-01T00:00:00Z", undid: ["a"] } };
  assert.match(
    planDrift(underWay, plan).join("\n"),
    /a rollback of this rotation began .* run `rollback` again/,
  );
  const finished = {
    ...record,
    rollback: { startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:05:00Z", undid: [] },
  };
  assert.deepEqual(planDrift(finished, plan), []);
});
