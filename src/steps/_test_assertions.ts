/**
 * Assertions of the step kind tests: changes as lines, the change of one file, no key material
 * in a text, and a rejection that names what it should.
 * @module
 */
import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import { targetName } from "../engine/change.ts";

/** Each change as one line: `create cp-1:/etc/kubernetes/pki/ca.crt`, `restart cp-1/kubelet`. */
export function describe(changes: readonly Change[]): string[] {
  return changes.map((change) => `${change.action} ${targetName(change.target)}`);
}

/** The change of a file on a node; fails when there is none. */
export function changeOf(changes: readonly Change[], node: string, path: string): Change {
  const change = changes.find((each) =>
    each.target.type === "file" && each.target.node === node && each.target.path === path
  );
  assert.ok(change, `no change of ${node}:${path} among:\n${describe(changes).join("\n")}`);
  return change;
}

/** Fails unless `text` is free of the key's material (its PEM body lines, and its base64). */
export function assertNoKeyMaterial(text: string, keyPem: string): void {
  const body = keyPem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
  assert.ok(body.length > 0, "not a PEM key");
  for (const line of body) {
    assert.ok(!text.includes(line.slice(0, 24)), `key material leaked: ${line.slice(0, 24)}…`);
  }
  assert.ok(!text.includes(btoa(keyPem).slice(0, 40)), "the key's base64 leaked");
}

/** Fails unless `promise` rejects with a message naming every one of `words`. */
export async function assertRejectsNaming(
  promise: Promise<unknown>,
  ...words: string[]
): Promise<Error> {
  let error: unknown;
  await assert.rejects(promise, (thrown) => {
    error = thrown;
    return true;
  });
  assert.ok(error instanceof Error, `rejected with ${String(error)}, not an Error`);
  for (const word of words) {
    assert.ok(error.message.includes(word), `"${error.message}" does not name "${word}"`);
  }
  return error;
}
