import assert from "node:assert/strict";
import { describeRootCaProblems, rootCaProblems } from "./_root_ca_configmaps.ts";

const OLD = "a".repeat(64);
const NEW = "b".repeat(64);
const labels = { [OLD]: "old CA", [NEW]: "new CA" };

Deno.test("rootCaProblems: exactly the expected certificates, per namespace", () => {
  const held = new Map<string, string[] | null>([
    ["default", [NEW, OLD].sort()],
    ["kube-system", [OLD]],
    ["team-a", [NEW]],
    ["broken", null],
  ]);
  const namespaces = ["team-a", "default", "kube-system", "broken", "fresh"];
  assert.deepEqual(rootCaProblems(namespaces, held, [OLD, NEW].sort(), labels), [
    { namespace: "broken", problem: "no ca.crt in its data" },
    { namespace: "fresh", problem: "no kube-root-ca.crt ConfigMap" },
    { namespace: "kube-system", problem: "missing new CA" },
    { namespace: "team-a", problem: "missing old CA" },
  ]);
  // Finalize: the new CA only; a namespace still holding the bundle is wrong.
  assert.deepEqual(rootCaProblems(["default", "team-a"], held, [NEW], labels), [
    { namespace: "default", problem: "still holds old CA" },
  ]);
  // An unknown certificate is named by its fingerprint.
  assert.deepEqual(rootCaProblems(["x"], new Map([["x", ["c".repeat(64)]]]), [NEW], labels), [
    { namespace: "x", problem: `missing new CA; still holds CA sha256:${"c".repeat(16)}` },
  ]);
  assert.deepEqual(rootCaProblems([], held, [NEW], labels), []);
});

Deno.test("describeRootCaProblems: a bounded list", () => {
  const problems = Array.from({ length: 12 }, (_, index) => ({
    namespace: `ns-${String(index).padStart(2, "0")}`,
    problem: "missing new CA",
  }));
  const text = describeRootCaProblems(problems, 2);
  assert.equal(text, "ns-00 (missing new CA), ns-01 (missing new CA), … and 10 more");
  assert.equal(describeRootCaProblems(problems.slice(0, 1)), "ns-00 (missing new CA)");
});
