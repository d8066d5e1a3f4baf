import assert from "node:assert/strict";
import type { Progress } from "../engine/progress.ts";
import { beginRollback, finishRollback, rollbackRecordSteps } from "./rollback_record.ts";

const progress: Progress = {
  plan: "demo",
  planDigest: "sha256:x",
  caFingerprints: { cluster: "aa" },
  stopAfter: "trust",
  steps: { "distribute-cluster-ca": { status: "done", attempts: 1, digest: "d" } },
};
const { begin, finish } = rollbackRecordSteps(
  "demo",
  new Date("2026-01-01T01:00:00.000Z"),
  ["distribute-cluster-ca"],
);

Deno.test("begin-rollback: the record gets the start, once", () => {
  const changes = beginRollback.diff(progress, begin as never);
  assert.deepEqual(changes.map((change) => change.action), ["update"]);
  assert.match(changes[0].after ?? "", /startedAt: 2026-01-01T01:00:00.000Z/);
  assert.doesNotMatch(changes[0].before ?? "", /startedAt/);
  const begun = { ...progress, rollback: { startedAt: "2026-01-01T01:00:00.000Z", undid: [] } };
  assert.deepEqual(beginRollback.diff(begun, begin as never), []);
});

Deno.test("finish-rollback: the Secret deleted (masked), the record cleared; nothing once done", () => {
  const changes = finishRollback.diff({ secret: true, progress }, finish as never);
  assert.deepEqual(changes.map((change) => `${change.action} ${change.target.type}`), [
    "delete object",
    "update object",
  ]);
  assert.equal(changes[0].sensitive, true);
  assert.match(changes[1].before ?? "", /distribute-cluster-ca/);
  assert.match(changes[1].after ?? "", /steps: \[\]/);
  const finished = {
    ...progress,
    rollback: { startedAt: "x", finishedAt: "y", undid: [] },
  };
  assert.deepEqual(finishRollback.diff({ secret: false, progress: finished }, finish as never), []);
});
