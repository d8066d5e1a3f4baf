import assert from "node:assert/strict";
import { secretTokenReaderOf, verifySaTokens } from "./verify_sa_tokens.ts";

Deno.test("verify-sa-tokens: a running pod reads the Secrets it mounts and those in its environment", () => {
  const reader = secretTokenReaderOf({
    metadata: { namespace: "team-a", name: "legacy-client" },
    spec: {
      volumes: [
        { secret: { secretName: "reader-token" } },
        { projected: { sources: [{ secret: { name: "ci-token" } }, { serviceAccountToken: {} }] } },
      ],
      initContainers: [{ envFrom: [{ secretRef: { name: "bootstrap-token" } }] }],
      containers: [
        { env: [{ valueFrom: { secretKeyRef: { name: "reader-token" } } }, {}] },
        { env: [{ valueFrom: { secretKeyRef: { name: "reader-token" } } }] },
      ],
    },
    status: { phase: "Running", startTime: "2026-01-01T10:00:00Z" },
  });
  assert.deepEqual(reader, {
    pod: "team-a/legacy-client",
    startedAt: new Date("2026-01-01T10:00:00Z"),
    mounted: ["team-a/reader-token", "team-a/ci-token"],
    inEnvironment: ["team-a/bootstrap-token", "team-a/reader-token"],
  });
  // A pod that is not running, or reads no Secret, reads no token.
  const pending = { metadata: { namespace: "a", name: "p" }, status: { phase: "Pending" } };
  assert.equal(secretTokenReaderOf({ ...pending, spec: { volumes: [{ secret: {} }] } }), undefined);
  assert.equal(
    secretTokenReaderOf({
      metadata: { namespace: "a", name: "p" },
      spec: { volumes: [{ projected: { sources: [{ serviceAccountToken: {} }] } }] },
      status: { phase: "Running", startTime: "2026-01-01T10:00:00Z" },
    }),
    undefined,
  );
});

Deno.test("verify-sa-tokens: the propagation time is a tuning field with the kubelet's default", () => {
  const step = verifySaTokens.schema.parse({
    id: "sa-token-gate",
    phase: "finalize",
    kind: "verify-sa-tokens",
    signingSwitchedBy: "apiserver-sa-signing-new",
  });
  assert.equal(step.tokenSecretPropagationSeconds, 150);
  assert.ok(verifySaTokens.tuning?.includes("tokenSecretPropagationSeconds"));
});
