import assert from "node:assert/strict";
import { ApiException } from "@kubernetes/client-node";
import { KubeApiError, readableApiError } from "./api_error.ts";
import { apiStatus } from "./objects.ts";

const forbidden = JSON.stringify({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  message:
    'deployments.apps "web" is forbidden: User "system:serviceaccount:kube-system:ca-rotator" cannot update resource "deployments" in API group "apps" in the namespace "team-a"',
  reason: "Forbidden",
  code: 403,
});

Deno.test("readableApiError() gives the server's sentence, the code and the reason", () => {
  const raw = new ApiException(403, "Unsuccessful HTTP Request", forbidden, {
    "audit-id": "x",
    date: "now",
  });
  const error = readableApiError(raw, "update Deployment team-a/web");
  assert.ok(error instanceof KubeApiError);
  assert.equal(
    error.message,
    'HTTP 403 Forbidden: deployments.apps "web" is forbidden: User "system:serviceaccount:kube-system:ca-rotator" cannot update resource "deployments" in API group "apps" in the namespace "team-a"',
  );
  assert.equal(apiStatus(error), 403, "apiStatus still reads the code");
  assert.equal(error.cause, raw);
  assert.ok(!error.message.includes("audit-id"), "no response headers");
});

Deno.test("readableApiError() names the request when the body is no Status", () => {
  const raw = new ApiException(503, "Unsuccessful HTTP Request", "service unavailable", {});
  const error = readableApiError(raw, "get ConfigMap kube-system/x") as KubeApiError;
  assert.equal(error.message, "HTTP 503: get ConfigMap kube-system/x: service unavailable");
  assert.equal(apiStatus(error), 503);
});

Deno.test("readableApiError() leaves other errors as they are", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  assert.equal(readableApiError(refused, "get Node n"), refused);
  assert.equal(readableApiError("text", "get Node n"), "text");
});
