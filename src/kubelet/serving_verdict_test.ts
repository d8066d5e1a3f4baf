import assert from "node:assert/strict";
import { servingGateMessage, servingVerdict } from "./serving_verdict.ts";

Deno.test("the endpoint decides; the file only when the endpoint cannot be reached", () => {
  const base = { node: "w1", endpoint: "198.18.1.21:10250", pendingCsrs: [] };
  assert.equal(servingVerdict({ ...base, endpointIssuer: "new", fileIssuer: "old" }).status, "ok");
  const old = servingVerdict({ ...base, endpointIssuer: "old", fileIssuer: "new" });
  assert.equal(old.status, "blocking");
  assert.equal(old.issuer, "old");
  const fromFile = servingVerdict({
    ...base,
    endpointError: "connection refused",
    fileIssuer: "old",
  });
  assert.equal(fromFile.status, "blocking");
  assert.match(fromFile.message, /on disk \(endpoint 198\.18\.1\.21:10250: connection refused\)/);
  assert.equal(
    servingVerdict({ ...base, endpointError: "refused", fileIssuer: "new" }).status,
    "ok",
  );
});

Deno.test("unknown holds; self-signed and no endpoint do not", () => {
  const unknown = servingVerdict({
    node: "w1",
    endpoint: "a:1",
    endpointError: "timeout",
    pendingCsrs: ["csr-1"],
  });
  assert.equal(unknown.status, "blocking");
  assert.match(unknown.message, /unknown.*timeout.*pending CSR csr-1/);
  assert.equal(
    servingVerdict({ node: "w1", endpoint: "a:1", endpointIssuer: "other", pendingCsrs: [] })
      .status,
    "ok",
  );
  assert.equal(servingVerdict({ node: "w1", pendingCsrs: [] }).status, "ok");
});

Deno.test("the gate message names each node still on the old CA", () => {
  const verdicts = [
    servingVerdict({ node: "a", endpoint: "x:1", endpointIssuer: "new", pendingCsrs: [] }),
    servingVerdict({ node: "b", endpoint: "y:1", endpointIssuer: "old", pendingCsrs: ["csr-b"] }),
  ];
  const message = servingGateMessage(verdicts)!;
  assert.match(message, /^1 of 2 kubelet\(s\)/);
  assert.match(
    message,
    /b \(serving certificate of the old CA presented on y:1; pending CSR csr-b\)/,
  );
  assert.doesNotMatch(message, /\ba \(/);
  assert.equal(servingGateMessage(verdicts.slice(0, 1)), undefined);
});
