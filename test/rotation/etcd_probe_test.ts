import assert from "node:assert/strict";
import { byHandOff, type EtcdFailure, failureKind, isUnavailable } from "./etcd_probe.ts";

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

Deno.test("a write that timed out while the leadership moved is the hand-off's; others are not", () => {
  const failure = (at: string, kind: EtcdFailure["kind"], message = ""): EtcdFailure => ({
    at,
    member: "control-plane-3",
    request: "put",
    kind,
    message,
  });
  const changes = [
    { at: "2026-12-07T06:30:00.000Z" }, // the first sample: not a change
    { at: "2026-12-07T06:38:24.900Z" },
  ];
  const { handOff, unexplained } = byHandOff([
    failure("2026-12-07T06:38:31.688Z", "timeout", "etcdserver: request timed out"),
    failure("2026-12-07T06:38:25.100Z", "http", "etcdserver: leader changed"),
    failure("2026-12-07T06:38:32.100Z", "http", 'HTTP 500: {"message":"raft proposal dropped"}'),
    failure("2026-12-07T06:30:06.000Z", "http", 'HTTP 500: {"message":"raft proposal dropped"}'),
    failure("2026-12-07T06:38:31.688Z", "tls", "unknown authority"),
    failure("2026-12-07T06:30:05.000Z", "timeout", "etcdserver: request timed out"),
    failure("2026-12-07T06:38:40.000Z", "timeout", "etcdserver: request timed out"),
  ], changes);
  assert.deepEqual(handOff.map((f) => f.at), [
    "2026-12-07T06:38:31.688Z",
    "2026-12-07T06:38:25.100Z",
    "2026-12-07T06:38:32.100Z",
  ]);
  assert.deepEqual(unexplained.map((f) => `${f.at} ${f.kind}`), [
    "2026-12-07T06:30:06.000Z http",
    "2026-12-07T06:38:31.688Z tls",
    "2026-12-07T06:30:05.000Z timeout",
    "2026-12-07T06:38:40.000Z timeout",
  ]);
});
