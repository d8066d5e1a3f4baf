import assert from "node:assert/strict";
import type { z } from "zod";
import { STEP_KINDS } from "./kinds.ts";
import { UNDO_KINDS } from "./undo_kinds.ts";
import { distributeCa } from "./distribute_ca.ts";
import type { StepKind } from "../engine/step.ts";
import { undoDeclarationProblem } from "../engine/undo.ts";
import { driftDeclarationProblem } from "../engine/drift.ts";

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

Deno.test("every kind declares how a rollback undoes it, with a reason where nothing is undone", () => {
  assert.deepEqual(STEP_KINDS.map(undoDeclarationProblem).filter(Boolean), []);
  assert.deepEqual(UNDO_KINDS.map(undoDeclarationProblem).filter(Boolean), []);
  // Each undo kind a kind names is one a rollback knows how to order.
  for (const kind of STEP_KINDS) {
    for (const undoKind of "by" in kind.undo ? kind.undo.by : []) {
      assert.ok(UNDO_KINDS.includes(undoKind), `${kind.kind}: undo names ${undoKind.kind}`);
    }
  }
});

Deno.test("negative control: a kind without an undo declaration, or with an empty one, is found", () => {
  const { undo: _undo, ...undeclared } = distributeCa;
  assert.equal(
    undoDeclarationProblem(undeclared as unknown as StepKind),
    "distribute-ca: declares no undo (by, rerun, kept or nothing)",
  );
  assert.match(
    undoDeclarationProblem({ ...distributeCa, undo: { nothing: " " } }) ?? "",
    /gives no reason/,
  );
  assert.match(undoDeclarationProblem({ ...distributeCa, undo: { by: [] } }) ?? "", /names no/);
});

Deno.test("every kind declares how a done step of it is re-checked for drift, with a reason", () => {
  assert.deepEqual(STEP_KINDS.map(driftDeclarationProblem).filter(Boolean), []);
  assert.deepEqual(UNDO_KINDS.map(driftDeclarationProblem).filter(Boolean), []);
  // The kinds that write kubeconfigs, flags and kubelet files (what kubeadm rewrites) re-apply.
  for (const kind of STEP_KINDS) {
    if (["update-kubeconfigs", "set-component-flags", "roll-kubelets"].includes(kind.kind)) {
      assert.ok("reapply" in kind.drift, `${kind.kind} re-applies on drift`);
    }
  }
});
