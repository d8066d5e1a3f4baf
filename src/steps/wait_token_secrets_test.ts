import assert from "node:assert/strict";
import { waitTokenSecrets } from "./wait_token_secrets.ts";
import { type PodVolumes, tokenSecretReaders } from "./_token_secrets.ts";

Deno.test("wait-token-secrets: the pods that mount a token Secret, and the Secrets no pod mounts", () => {
  const pod = (
    namespace: string,
    name: string,
    volumes: NonNullable<PodVolumes["spec"]>["volumes"],
  ): PodVolumes => ({
    metadata: { namespace, name },
    spec: { volumes },
  });
  const readers = tokenSecretReaders(
    ["ci/deployer-token", "team-a/legacy-token", "team-b/argo-token"],
    [
      pod("team-a", "app-1", [{ secret: { secretName: "legacy-token" } }]),
      pod("team-a", "app-2", [{ projected: { sources: [{ secret: { name: "legacy-token" } }] } }]),
      // The same name in another namespace is another Secret; an ordinary Secret is no token.
      pod("team-b", "web", [{ secret: { secretName: "legacy-token" } }, {
        secret: { secretName: "tls" },
      }]),
      pod("team-c", "bare", []),
    ],
  );
  assert.deepEqual(readers.mountedBy, [
    "team-a/app-1 → legacy-token",
    "team-a/app-2 → legacy-token",
  ]);
  assert.deepEqual(readers.unmounted, ["ci/deployer-token", "team-b/argo-token"]);
});

Deno.test("wait-token-secrets: the schema fills its defaults; it only waits (nothing to undo)", () => {
  const step = waitTokenSecrets.schema.parse({
    id: "wait-token-secrets-bundle",
    phase: "trust",
    kind: "wait-token-secrets",
    expect: "bundle",
  });
  assert.equal(step.timeoutSeconds, 300);
  assert.deepEqual(waitTokenSecrets.undo, { nothing: "it only waits" });
  assert.throws(() => waitTokenSecrets.schema.parse({ ...step, expect: "old" }));
});
