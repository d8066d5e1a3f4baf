import assert from "node:assert/strict";
import {
  describeReaders,
  readersOf,
  staleTokenPods,
  staleTokenSecrets,
  tokenReplacedBy,
  VOLUME_SYNC_MARGIN_MS,
} from "./_sa_token_use.ts";

const switched = new Date("2026-01-01T10:00:00Z");
const at = (minutes: number) => new Date(switched.getTime() + minutes * 60_000);
const pod = (name: string, startedMinutes: number, expirationSeconds = 3607) => ({
  namespace: "apps",
  name,
  startedAt: at(startedMinutes),
  expirationSeconds,
});

Deno.test("a token is replaced at 80 % of its requested lifetime, at most 24 h, plus a sync", () => {
  assert.equal(
    tokenReplacedBy(switched, 600).getTime(),
    switched.getTime() + 480_000 + VOLUME_SYNC_MARGIN_MS,
  );
  assert.equal(
    tokenReplacedBy(switched, 365 * 24 * 3600).getTime(),
    switched.getTime() + 24 * 3600_000 + VOLUME_SYNC_MARGIN_MS,
  );
});

Deno.test("pods started after the switch are safe; older ones until their token is replaced", () => {
  const pods = [pod("new", 1), pod("old-short", -5, 600), pod("old-default", -5)];
  assert.deepEqual(staleTokenPods(pods, switched, at(2)).map((p) => p.name), [
    "old-default",
    "old-short",
  ]);
  // 600 s tokens: replaced 8 min (+ sync) after the switch; the default 3607 s ones later.
  assert.deepEqual(staleTokenPods(pods, switched, at(10)).map((p) => p.name), ["old-default"]);
  assert.deepEqual(staleTokenPods(pods, switched, at(50)), []);
});

Deno.test("token Secrets not signed by the new key (or without a token yet) are stale", () => {
  const secrets = [
    { namespace: "b", name: "old", keyId: "OLD" },
    { namespace: "a", name: "new", keyId: "NEW" },
    { namespace: "a", name: "empty" },
  ];
  assert.deepEqual(staleTokenSecrets(secrets, "NEW").map((s) => `${s.namespace}/${s.name}`), [
    "a/empty",
    "b/old",
  ]);
});

Deno.test("the running pods that read each token Secret, mounted or in their environment", () => {
  const readers = [
    { pod: "team-a/web", secrets: ["team-a/reader-token", "team-a/tls"] },
    { pod: "team-a/api", secrets: ["team-a/reader-token"] },
    { pod: "team-b/web", secrets: ["team-b/other-token"] },
  ];
  const bySecret = readersOf(["team-a/reader-token", "team-c/reader-token"], readers);
  assert.deepEqual([...bySecret], [["team-a/reader-token", ["team-a/api", "team-a/web"]]]);
  assert.equal(describeReaders(bySecret), "team-a/reader-token (read by team-a/api, team-a/web)");
  assert.equal(readersOf(["team-c/reader-token"], readers).size, 0, "a Secret no pod reads");
});
