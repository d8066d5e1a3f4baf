import assert from "node:assert/strict";
import { pathKey, substituteEnv, words } from "./env.ts";

Deno.test("substitutes ${NAME} in every string, depth first", () => {
  const { value, problems, wholeReferences } = substituteEnv(
    { a: "x-${A}-y", b: ["${B}", 3, true, null], c: { d: "${A}" } },
    { A: "1", B: "two words" },
  );
  assert.deepEqual(value, { a: "x-1-y", b: ["two words", 3, true, null], c: { d: "1" } });
  assert.deepEqual(problems, []);
  assert.deepEqual([...wholeReferences].sort(), [pathKey(["b", 0]), pathKey(["c", "d"])].sort());
});

Deno.test("defaults, escapes, and $NAME left to the shell", () => {
  const { value, problems } = substituteEnv(
    ["${UNSET:-fallback}", "${EMPTY:-fallback}", "${EMPTY:-}", "$${LITERAL}", "$HOME ${SET}"],
    { EMPTY: "", SET: "s" },
  );
  assert.deepEqual(value, ["fallback", "fallback", "", "${LITERAL}", "$HOME s"]);
  assert.deepEqual(problems, []);
});

Deno.test("an unset variable or a malformed reference is a problem at its path", () => {
  const { problems } = substituteEnv({ x: ["ok", "${MISSING}"], y: "${1BAD}", z: "${OPEN" }, {});
  assert.deepEqual(problems, [
    { path: ["x", 1], message: "environment variable MISSING is not set" },
    {
      path: ["y"],
      message: 'malformed reference "${1BAD}" (expected ${NAME} or ${NAME:-default})',
    },
    { path: ["z"], message: 'malformed reference "${OPEN" (expected ${NAME} or ${NAME:-default})' },
  ]);
});

Deno.test("words split on any whitespace", () => {
  assert.deepEqual(words("  /a/cp-1 /a/cp-2\n\t/a/cp-3 "), ["/a/cp-1", "/a/cp-2", "/a/cp-3"]);
  assert.deepEqual(words(""), []);
});
