import assert from "node:assert/strict";
import { planReissue, secretTokenReaderOf, verifySaTokens } from "./verify_sa_tokens.ts";
import type { TokenSecret } from "./_token_secrets.ts";

const running = { phase: "Running", startTime: "2026-01-01T10:00:00Z" };

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
      ],
    },
    status: running,
  });
  assert.deepEqual(reader, {
    pod: "team-a/legacy-client",
    secrets: ["team-a/reader-token", "team-a/ci-token", "team-a/bootstrap-token"],
  });
  // A pod that is not running, or reads no Secret, reads no token.
  const pending = { metadata: { namespace: "a", name: "p" }, status: { phase: "Pending" } };
  assert.equal(secretTokenReaderOf({ ...pending, spec: { volumes: [{ secret: {} }] } }), undefined);
  assert.equal(
    secretTokenReaderOf({
      metadata: { namespace: "a", name: "p" },
      spec: { volumes: [{ projected: { sources: [{ serviceAccountToken: {} }] } }] },
      status: running,
    }),
    undefined,
  );
});

/** A legacy token Secret whose token the key `kid` signed (header and payload only). */
function tokenSecret(namespace: string, name: string, kid: string): TokenSecret {
  const part = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, "");
  const token = `${part({ alg: "RS256", kid })}.${part({ sub: "x" })}.c2ln`;
  return {
    metadata: { namespace, name },
    type: "kubernetes.io/service-account-token",
    data: { token: btoa(token) },
  };
}

Deno.test("verify-sa-tokens: a token Secret a running pod reads is not re-issued unless the plan says", () => {
  const secrets = [
    tokenSecret("team-a", "reader-token", "OLD"),
    tokenSecret("team-a", "unread-token", "OLD"),
    tokenSecret("team-a", "already-new", "NEW"),
    tokenSecret("team-c", "reader-token", "OLD"),
  ];
  const readers = [{ pod: "team-a/legacy-client", secrets: ["team-a/reader-token"] }];
  const names = (list: readonly TokenSecret[]) => list.map((s) => s.metadata?.name);
  const safe = planReissue(
    { reissueTokenSecrets: ["team-a"], reissueSecretsInUse: false },
    secrets,
    "NEW",
    readers,
  );
  // Re-issuing ends the old token at once: the read one is left, and named with its reader.
  assert.deepEqual(names(safe.secrets), ["unread-token"]);
  assert.deepEqual([...safe.inUse], [["team-a/reader-token", ["team-a/legacy-client"]]]);
  assert.equal(safe.cutOff.size, 0);
  // Negative control: with reissueSecretsInUse the read one is re-issued, its reader cut off.
  const forced = planReissue(
    { reissueTokenSecrets: ["team-a"], reissueSecretsInUse: true },
    secrets,
    "NEW",
    readers,
  );
  assert.deepEqual(names(forced.secrets), ["reader-token", "unread-token"]);
  assert.deepEqual([...forced.cutOff], [["team-a/reader-token", ["team-a/legacy-client"]]]);
  assert.equal(forced.inUse.size, 0);
});

Deno.test("verify-sa-tokens: re-issuing Secrets in use is off by default", () => {
  const step = verifySaTokens.schema.parse({
    id: "sa-token-gate",
    phase: "finalize",
    kind: "verify-sa-tokens",
    signingSwitchedBy: "apiserver-sa-signing-new",
  });
  assert.equal(step.reissueSecretsInUse, false);
});
