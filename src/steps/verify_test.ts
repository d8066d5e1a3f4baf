import assert from "node:assert/strict";
import { CONTROL_PLANE_KUBECONFIGS, describeFailures, phaseExpectations } from "./verify.ts";

Deno.test("phaseExpectations: trust keeps the old chain, switch serves new, finalize drops old", () => {
  assert.deepEqual(phaseExpectations("trust"), {
    serving: "old",
    rootCa: "bundle",
    kubeconfigCa: "bundle",
    clientCertsByNewCa: false,
  });
  assert.deepEqual(phaseExpectations("switch"), {
    serving: "new",
    rootCa: "bundle",
    kubeconfigCa: "bundle",
    clientCertsByNewCa: true,
  });
  assert.deepEqual(phaseExpectations("finalize"), {
    serving: "new-only",
    rootCa: "new",
    kubeconfigCa: "new",
    clientCertsByNewCa: true,
  });
});

Deno.test("CONTROL_PLANE_KUBECONFIGS: super-admin.conf only where present", () => {
  assert.deepEqual(
    CONTROL_PLANE_KUBECONFIGS.filter((each) => each.required).map((each) => each.file),
    ["admin.conf", "controller-manager.conf", "scheduler.conf"],
  );
});

Deno.test("describeFailures: every problem of every failing check, bounded per check", () => {
  const report = {
    expect: "switch" as const,
    ok: false,
    checks: [
      {
        check: "nodes-ready" as const,
        ok: true,
        summary: "3 of 3 nodes Ready",
        problems: [],
        notes: [],
      },
      {
        check: "api-serving-chain" as const,
        ok: false,
        summary: "2 of 3 endpoints serve a chain to the new CA",
        problems: [
          "https://198.18.1.2:6443 (cp-2) does not serve a chain to the new CA: BadSignature",
        ],
        notes: [],
      },
      {
        check: "workloads-available" as const,
        ok: false,
        summary: "",
        problems: ["a", "b", "c"],
        notes: [],
      },
    ],
  };
  assert.deepEqual(describeFailures(report, 2), [
    "api-serving-chain: https://198.18.1.2:6443 (cp-2) does not serve a chain to the new CA: BadSignature",
    "workloads-available: a",
    "workloads-available: b",
    "workloads-available: … and 1 more",
  ]);
});
