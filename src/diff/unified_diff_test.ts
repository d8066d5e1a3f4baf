import assert from "node:assert/strict";
import { unifiedDiff } from "./unified_diff.ts";

const NAME = "cp-1:/etc/kubernetes/manifests/kube-apiserver.yaml";

Deno.test("unifiedDiff() gives a hunk with 3 lines of context and a/ b/ labels", () => {
  const before = Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
  const after = before.replace("line 5\n", "line five\n");
  assert.equal(
    unifiedDiff(NAME, before, after),
    [
      `--- a/${NAME}`,
      `+++ b/${NAME}`,
      "@@ -2,7 +2,7 @@",
      " line 2",
      " line 3",
      " line 4",
      "-line 5",
      "+line five",
      " line 6",
      " line 7",
      " line 8",
      "",
    ].join("\n"),
  );
});

Deno.test("unifiedDiff() labels a created or deleted side /dev/null", () => {
  assert.equal(
    unifiedDiff("n:/f", undefined, "x\n"),
    "--- /dev/null\n+++ b/n:/f\n@@ -0,0 +1,1 @@\n+x\n",
  );
  assert.equal(
    unifiedDiff("n:/f", "x\n", undefined),
    "--- a/n:/f\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n",
  );
  assert.equal(unifiedDiff("n:/f", undefined, ""), "--- /dev/null\n+++ b/n:/f\n");
});

Deno.test("unifiedDiff() is empty for equal texts", () => {
  assert.equal(unifiedDiff("n:/f", "x\n", "x\n"), "");
});
