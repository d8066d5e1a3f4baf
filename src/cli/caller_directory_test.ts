import assert from "node:assert/strict";
import { callerDirectory } from "./caller_directory.ts";

const home = "/opt/ca-rotator";

Deno.test("under deno task (run in ca-rotator's directory) INIT_CWD is the caller's directory", () => {
  assert.equal(callerDirectory({ cwd: home, initCwd: "/repo/gitops", home }), "/repo/gitops");
  assert.equal(callerDirectory({ cwd: `${home}/`, initCwd: "/repo", home }), "/repo");
});

Deno.test("run from any other directory, the working directory is the caller's", () => {
  assert.equal(callerDirectory({ cwd: "/repo/gitops", home }), "/repo/gitops");
  // An INIT_CWD left by an enclosing `npm run` or `deno task` does not move an installed command.
  assert.equal(
    callerDirectory({ cwd: "/repo/gitops/plans", initCwd: "/repo", home }),
    "/repo/gitops/plans",
  );
});

Deno.test("in ca-rotator's directory without INIT_CWD, that directory is the caller's", () => {
  assert.equal(callerDirectory({ cwd: home, home }), home);
  assert.equal(callerDirectory({ cwd: home, initCwd: "", home }), home);
});
