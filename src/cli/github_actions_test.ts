import assert from "node:assert/strict";
import { join } from "node:path";
import { annotationsOf, errorCommand } from "./github_actions.ts";
import { PlanError } from "../plan/plan_error.ts";
import { StepError } from "../engine/step_error.ts";

const repo = new URL("../../", import.meta.url).pathname;

Deno.test("a plan problem becomes an ::error with file, line, column and the field", () => {
  const error = new PlanError("/home/ci/work/plans/prod.yaml", [
    { line: 23, column: 11, field: "steps[1].kind", message: 'unknown step kind "x"' },
    { message: "stopAfter: must be one of trust, switch, finalize" },
  ]);
  assert.deepEqual(annotationsOf(error, "/home/ci/work"), [
    '::error file=plans/prod.yaml,line=23,col=11,title=ca-rotator plan%3A steps[1].kind::steps[1].kind: unknown step kind "x"',
    "::error file=plans/prod.yaml,title=ca-rotator plan::stopAfter: must be one of trust, switch, finalize",
  ]);
});

Deno.test("workflow command values are escaped: no injected command, no broken property", () => {
  assert.equal(
    errorCommand("50% done\n::warning::injected", { file: "a,b:c.yaml" }),
    "::error file=a%2Cb%3Ac.yaml::50%25 done%0A::warning::injected",
  );
});

Deno.test("a failed step is annotated with its id", () => {
  const error = new StepError("restart-apiserver", "verify", new Error("timed out"));
  assert.deepEqual(annotationsOf(error), [
    "::error title=ca-rotator step restart-apiserver::[restart-apiserver] verify: timed out",
  ]);
});

async function validate(plan: string, env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), "validate", "--plan", plan],
    cwd: repo,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("validate in GitHub Actions annotates the plan's line; elsewhere it does not", async () => {
  const plan = "src/plan/testdata/unknown_kind.yaml";
  const inActions = await validate(plan, { GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: repo });
  assert.equal(inActions.code, 2);
  assert.match(
    inActions.stderr,
    /^::error file=src\/plan\/testdata\/unknown_kind\.yaml,line=23,.*title=ca-rotator plan%3A steps\[1\]\.kind::steps\[1\]\.kind: unknown step kind/m,
  );
  const local = await validate(plan, { GITHUB_ACTIONS: "" });
  assert.equal(local.code, 2);
  assert.doesNotMatch(local.stderr, /::error/);
});
