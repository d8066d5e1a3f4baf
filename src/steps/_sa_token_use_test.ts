import assert from "node:assert/strict";
import {
  describeStaleSecretReaders,
  SECRET_TOKEN_PROPAGATION_SECONDS,
  staleSecretReaders,
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

Deno.test("a pod that mounts a re-issued token Secret uses its old token until it propagates", () => {
  assert.equal(
    SECRET_TOKEN_PROPAGATION_SECONDS,
    150,
    "the kubelet's sync (90 s) and client-go's read (60 s)",
  );
  const rewrittenAt = new Map([["apps/reader-token", at(0)], ["apps/other-token", at(-10)]]);
  const readers = [
    { pod: "apps/mounts", startedAt: at(-30), mounted: ["apps/reader-token"], inEnvironment: [] },
    {
      pod: "apps/mounts-old",
      startedAt: at(-30),
      mounted: ["apps/other-token"],
      inEnvironment: [],
    },
    {
      pod: "apps/env-before",
      startedAt: at(-1),
      mounted: [],
      inEnvironment: ["apps/reader-token"],
    },
    { pod: "apps/env-after", startedAt: at(1), mounted: [], inEnvironment: ["apps/reader-token"] },
    { pod: "apps/unrelated", startedAt: at(-1), mounted: ["apps/config"], inEnvironment: [] },
  ];
  const stale = staleSecretReaders(readers, rewrittenAt, at(1), 150);
  assert.deepEqual(stale, [
    { pod: "apps/env-before", secret: "apps/reader-token" },
    { pod: "apps/mounts", secret: "apps/reader-token", readsNewBy: at(2.5) },
  ]);
  assert.match(
    describeStaleSecretReaders(stale),
    /apps\/env-before \(apps\/reader-token\), apps\/mounts \(apps\/reader-token, the new token by 2026-01-01T10:02:30.000Z\)/,
  );
  // Once the propagation time has passed, only the pod that read it at its start is left:
  // it keeps the old token until it restarts.
  assert.deepEqual(staleSecretReaders(readers, rewrittenAt, at(3), 150).map((r) => r.pod), [
    "apps/env-before",
  ]);
  // Negative control: with no propagation time, the mounting pod would be let go at once.
  assert.deepEqual(staleSecretReaders(readers, rewrittenAt, at(1), 0).map((r) => r.pod), [
    "apps/env-before",
  ]);
});
