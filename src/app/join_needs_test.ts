import assert from "node:assert/strict";
import { joinAdvice, joinNeeds, type PlannedJoinStep } from "./join_needs.ts";
import type { StepProgress } from "../engine/progress.ts";

const OLD = { hash: `sha256:${"a".repeat(64)}`, fingerprint: "f-old" };
const NEW = { hash: `sha256:${"b".repeat(64)}`, fingerprint: "f-new" };
const done = { status: "done" } as StepProgress;

function plan(bundleDone: boolean, newDone: boolean): PlannedJoinStep[] {
  return [
    { id: "distribute-cluster-ca", phase: "trust", kind: "distribute-ca" },
    {
      id: "cluster-info-bundle",
      phase: "trust",
      kind: "update-cluster-info",
      caData: "bundle",
      ...(bundleDone ? { record: done } : {}),
    },
    { id: "restart-apiservers-switch", phase: "switch", kind: "restart-component" },
    {
      id: "cluster-info-new",
      phase: "finalize",
      kind: "update-cluster-info",
      caData: "new",
      ...(newDone ? { record: done } : {}),
    },
  ];
}

Deno.test("joinNeeds before the rotation: the current CA's hash; trust adds the new one", () => {
  const needs = joinNeeds([OLD], undefined, plan(false, false));
  assert.deepEqual(needs, {
    hashes: [{ hash: OLD.hash, ca: "current" }],
    next: { phase: "trust", step: "cluster-info-bundle", caData: "bundle" },
  });
  assert.deepEqual(joinAdvice(needs), [
    `Joins: kubeadm join --discovery-token-ca-cert-hash ${OLD.hash}`,
    "Joins next: the trust phase (step cluster-info-bundle) adds the new CA's hash (the old one " +
    "keeps working)",
  ]);
});

Deno.test("joinNeeds with the new CA made, cluster-info not yet changed: the bundle's hashes next", () => {
  const needs = joinNeeds(
    [OLD],
    { fingerprint: NEW.fingerprint, hash: NEW.hash },
    plan(false, false),
  );
  assert.deepEqual(needs.hashes, [{ hash: OLD.hash, ca: "old" }]);
  assert.deepEqual(needs.next?.hashes, [{ hash: OLD.hash, ca: "old" }, {
    hash: NEW.hash,
    ca: "new",
  }]);
});

Deno.test("joinNeeds after trust: either hash now; finalize leaves the new CA's alone", () => {
  // The new CA's hash is known from cluster-info itself when the Secret is not readable.
  const needs = joinNeeds([OLD, NEW], { fingerprint: NEW.fingerprint }, plan(true, false));
  assert.deepEqual(needs, {
    hashes: [{ hash: OLD.hash, ca: "old" }, { hash: NEW.hash, ca: "new" }],
    next: {
      phase: "finalize",
      step: "cluster-info-new",
      caData: "new",
      hashes: [{ hash: NEW.hash, ca: "new" }],
    },
  });
  const [now, next] = joinAdvice(needs);
  assert.equal(
    now,
    `Joins: kubeadm join --discovery-token-ca-cert-hash ${OLD.hash} (old CA) or ${NEW.hash} ` +
      "(new CA) (any one; cluster-info carries each)",
  );
  assert.match(
    next,
    /^Joins next: the finalize phase \(step cluster-info-new\) leaves the new CA's hash alone \(the old one stops working\): sha256:b{64} \(new CA\)$/,
  );
});

Deno.test("joinNeeds after finalize: the new CA's hash; nothing changes it any more", () => {
  const needs = joinNeeds([NEW], { fingerprint: NEW.fingerprint }, plan(true, true));
  assert.deepEqual(needs, { hashes: [{ hash: NEW.hash, ca: "new" }] });
  assert.equal(
    joinAdvice(needs)[1],
    "Joins next: no step of the plan changes cluster-info any more",
  );
  assert.match(joinAdvice({ hashes: [] })[0], /cluster-info does not exist/);
});
