import assert from "node:assert/strict";
import {
  describeSignatureProblems,
  type SecretObject,
  signatureProblems,
  signingTokens,
} from "./_bootstrap_signatures.ts";
import { signDetachedJws } from "../formats/detached_jws.ts";

const b64 = (text: string) => btoa(text);
const NOW = Date.parse("2026-12-06T20:00:00Z");

function token(id: string, secret: string, extra: Record<string, string> = {}): SecretObject {
  return {
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    data: Object.fromEntries(
      Object.entries({
        "token-id": id,
        "token-secret": secret,
        "usage-bootstrap-signing": "true",
        "usage-bootstrap-authentication": "true",
        ...extra,
      }).map(([key, value]) => [key, b64(value)]),
    ),
  };
}

Deno.test("signingTokens: the tokens the bootstrap signer signs with, and no others", () => {
  const tokens = signingTokens([
    token("bbbbbb", "0123456789abcdef"),
    token("aaaaaa", "fedcba9876543210", { expiration: "2027-01-01T00:00:00Z" }),
    token("expird", "0123456789abcdef", { expiration: "2026-12-06T19:59:59Z" }),
    token("nosign", "0123456789abcdef", { "usage-bootstrap-signing": "false" }),
    { ...token("othert", "0123456789abcdef"), type: "Opaque" },
    { ...token("renamd", "0123456789abcdef"), metadata: { name: "bootstrap-token-xxxxxx" } },
  ], NOW);
  assert.deepEqual(tokens.map((each) => each.id), ["aaaaaa", "bbbbbb"]);
});

const KUBECONFIG = 'apiVersion: v1\nclusters:\n- cluster:\n    server: https://x\n  name: ""\n';

Deno.test("signatureProblems: none when every token signed this kubeconfig", async () => {
  const tokens = [{ id: "abcdef", secret: "0123456789abcdef" }];
  const configMap = {
    data: {
      kubeconfig: KUBECONFIG,
      "jws-kubeconfig-abcdef": await signDetachedJws(KUBECONFIG, "abcdef", "0123456789abcdef"),
    },
  };
  assert.deepEqual(await signatureProblems(configMap, tokens), []);
});

Deno.test("signatureProblems negative: a signature of the previous content, one missing", async () => {
  const tokens = [
    { id: "abcdef", secret: "0123456789abcdef" },
    { id: "ghijkl", secret: "fedcba9876543210" },
  ];
  const changed = KUBECONFIG.replace("https://x", "https://y");
  const configMap = {
    data: {
      kubeconfig: changed,
      // Signed before cluster-info changed: not re-signed yet.
      "jws-kubeconfig-abcdef": await signDetachedJws(KUBECONFIG, "abcdef", "0123456789abcdef"),
    },
  };
  const problems = await signatureProblems(configMap, tokens);
  assert.deepEqual(problems, [
    { tokenId: "abcdef", problem: "signature" },
    { tokenId: "ghijkl", problem: "missing" },
  ]);
  const text = describeSignatureProblems(problems);
  assert.equal(
    text,
    "token abcdef (the signature does not match the kubeconfig), token ghijkl (no signature)",
  );
  assert.ok(!text.includes("0123456789abcdef"), "no token secret in the message");
});
