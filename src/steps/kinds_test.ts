import assert from "node:assert/strict";
import type { z } from "zod";
import { STEP_KINDS } from "./kinds.ts";

const names: string[] = STEP_KINDS.map((kind) => kind.kind);

Deno.test("step kind names are unique", () => {
  assert.deepEqual(names.filter((name, index) => names.indexOf(name) !== index), []);
});

Deno.test("each kind's schema, tuning and rule fields name its own parameters", () => {
  for (const kind of STEP_KINDS) {
    const shape = (kind.schema as unknown as z.ZodObject).shape;
    const literal = shape.kind as unknown as z.ZodLiteral<string>;
    assert.equal(literal.value, kind.kind, `${kind.kind}: the schema's kind literal`);
    for (const field of [...(kind.tuning ?? []), kind.trustSetField ?? "id"]) {
      assert.ok(field in shape, `${kind.kind}: "${field}" is not one of its parameters`);
    }
    for (const earlier of kind.needsEarlier ?? []) {
      assert.ok(names.includes(earlier), `${kind.kind}: needsEarlier names unknown "${earlier}"`);
    }
  }
});

Deno.test("exactly one kind is the kubelet client-rotation gate", () => {
  assert.deepEqual(
    STEP_KINDS.filter((kind) => kind.kubeletGate).map((kind) => kind.kind),
    ["verify-kubelet-rotation"],
  );
});
