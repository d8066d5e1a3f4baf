import assert from "node:assert/strict";
import { failureKind, isUnavailable } from "./etcd_probe.ts";

Deno.test("the etcd probe tells a member down from a refused certificate and a lost quorum", () => {
  const cases: [string, string][] = [
    ["client error (Connect): tcp connect error: Connection refused (os error 111)", "refused"],
    ["client error (Connect): tls handshake eof", "closed"],
    ["fetch failed: connection closed", "closed"],
    ["client error (Connect): invalid peer certificate: UnknownIssuer", "tls"],
    ["received fatal alert: UnknownCA", "tls"],
    ['HTTP 503: {"code":14, "message":"etcdserver: request timed out"}', "timeout"],
    ["The operation was aborted due to timeout", "timeout"],
    ['HTTP 503: {"code":14, "message":"etcdserver: leader changed"}', "http"],
    ["something else", "other"],
  ];
  for (const [message, kind] of cases) assert.equal(failureKind(message), kind, message);
});

Deno.test("the etcd probe sends a read again on Unavailable (code 14) only, as clientv3 does", () => {
  assert.ok(isUnavailable('HTTP 503: {"code":14, "message":"etcdserver: leader changed"}'));
  assert.ok(!isUnavailable('HTTP 504: {"code":4, "message":"context deadline exceeded"}'));
  assert.ok(!isUnavailable("fetch failed: connection closed"));
});
