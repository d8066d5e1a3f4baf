import assert from "node:assert/strict";
import { phaseExpectations } from "./expectations.ts";

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
