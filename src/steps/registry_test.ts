import assert from "node:assert/strict";
import { defaultRegistry } from "./registry.ts";
import { STEP_KINDS } from "../plan/schema.ts";

Deno.test("every step kind of the plan format has an implementation", () => {
  const registry = defaultRegistry();
  const missing = STEP_KINDS.filter((kind) => !registry.has(kind));
  assert.deepEqual(missing, []);
});
