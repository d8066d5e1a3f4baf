import assert from "node:assert/strict";
import { defaultRegistry, STEP_KINDS } from "./kinds.ts";

Deno.test("every step kind of the plan format has an implementation", () => {
  const registry = defaultRegistry();
  const missing = STEP_KINDS.map((kind) => kind.kind).filter((kind) => !registry.has(kind));
  assert.deepEqual(missing, []);
});
