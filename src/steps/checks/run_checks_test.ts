import assert from "node:assert/strict";
import { describeFailures, describeTimeout, type VerifyReport } from "./run_checks.ts";

const report: VerifyReport = {
  expect: "switch",
  ok: false,
  checks: [
    {
      check: "nodes-ready",
      ok: true,
      summary: "3 of 3 nodes Ready",
      problems: [],
      notes: [],
    },
    {
      check: "api-serving-chain",
      ok: false,
      summary: "2 of 3 endpoints serve a chain to the new CA",
      problems: [
        "https://198.18.1.2:6443 (cp-2) does not serve a chain to the new CA: BadSignature",
      ],
      notes: [],
    },
    {
      check: "workloads-available",
      ok: false,
      summary: "",
      problems: ["a", "b", "c"],
      notes: [],
    },
  ],
};

Deno.test("describeFailures: every problem of every failing check, bounded per check", () => {
  assert.deepEqual(describeFailures(report, 2), [
    "api-serving-chain: https://198.18.1.2:6443 (cp-2) does not serve a chain to the new CA: BadSignature",
    "workloads-available: a",
    "workloads-available: b",
    "workloads-available: … and 1 more",
  ]);
});

Deno.test("describeTimeout: how many checks of which phase, then every problem", () => {
  assert.equal(
    describeTimeout(report, 300),
    '2 checks of "switch" still failing after 300s:\n' +
      "  api-serving-chain: https://198.18.1.2:6443 (cp-2) does not serve a chain to the new CA: BadSignature\n" +
      "  workloads-available: a\n  workloads-available: b\n  workloads-available: c",
  );
  const one = { ...report, checks: report.checks.slice(0, 2) };
  assert.match(describeTimeout(one, 5), /^1 check of "switch" still failing after 5s:/);
});
