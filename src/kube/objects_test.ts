import assert from "node:assert/strict";
import { mergePatched } from "./objects.ts";

Deno.test("mergePatched: a JSON merge patch (RFC 7386): objects merge, null removes, the rest replaces", () => {
  const target = {
    metadata: { name: "web", annotations: { keep: "1", drop: "2" } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: "a" }] } } },
  };
  const patched = mergePatched(target, {
    metadata: { annotations: { drop: null, added: "3" } },
    spec: { template: { spec: { containers: [{ name: "b" }] } } },
  });
  assert.deepEqual(patched, {
    metadata: { name: "web", annotations: { keep: "1", added: "3" } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: "b" }] } } },
  });
  assert.deepEqual(target.metadata.annotations, { keep: "1", drop: "2" }, "the target is kept");
  assert.deepEqual(mergePatched({ a: 1 }, { b: { c: 2 } }), { a: 1, b: { c: 2 } });
  assert.equal(mergePatched({ a: 1 }, "text"), "text");
});
