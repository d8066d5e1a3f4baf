import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { memoryPrinter } from "../engine/printer.ts";

async function validate(plan: string) {
  const printer = memoryPrinter();
  const code = await runCli(["validate", "--plan", plan], printer);
  return { code, output: printer.lines.join("\n") };
}

Deno.test("validate accepts the shipped kubeadm plan with exit code 0", async () => {
  const { code, output } = await validate("plans/kubeadm.yaml");
  assert.equal(code, 0);
  assert.match(output, /plan "plans\/kubeadm.yaml" is valid: 42 steps/);
});

for (
  const [file, line, field] of [
    ["unknown_kind.yaml", 23, 'steps\\[1\\].kind: unknown step kind "restart-everything"'],
    ["missing_field.yaml", 17, "steps\\[0\\].ca: is missing"],
    ["bad_indent.yaml", 20, "steps\\[0\\].phase: YAML syntax error"],
    ["unknown_stop_after.yaml", 6, 'stopAfter: unknown phase "finalise"'],
  ] as const
) {
  Deno.test(`validate refuses ${file} with exit code 2 naming file, line and field`, async () => {
    const path = `src/plan/testdata/${file}`;
    const { code, output } = await validate(path);
    assert.equal(code, 2);
    assert.match(
      output,
      new RegExp(`Cannot load plan "${path}": line ${line}(, column \\d+)?, ${field}`),
    );
  });
}

Deno.test("a missing flag or plan file is bad input (exit code 2)", async () => {
  assert.equal(await runCli(["validate"], memoryPrinter()), 2);
  assert.equal((await validate("plans/no-such-plan.yaml")).code, 2);
  assert.equal(
    await runCli(["rotate", "--plan", "plans/kubeadm.yaml", "--output", "xml"], memoryPrinter()),
    2,
  );
});
