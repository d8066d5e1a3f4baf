import assert from "node:assert/strict";
import { LabelSelectorError, matchesLabels, parseLabelSelector } from "./label_selector.ts";

const CONTROL_PLANE = { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux" };
const WORKER = { "kubernetes.io/os": "linux", pool: "general", zone: "a" };
const SPOT = { "kubernetes.io/os": "linux", pool: "spot", zone: "b", "cpu-count": "16" };
const NO_LABELS = {};

/** Which of the four sample label sets a selector matches. */
function matched(text: string): string[] {
  const selector = parseLabelSelector(text);
  const samples = { controlPlane: CONTROL_PLANE, worker: WORKER, spot: SPOT, bare: NO_LABELS };
  return Object.entries(samples).filter(([, labels]) => matchesLabels(selector, labels))
    .map(([name]) => name);
}

Deno.test("label selector: !key leaves out the control plane, key selects it", () => {
  assert.deepEqual(matched("!node-role.kubernetes.io/control-plane"), ["worker", "spot", "bare"]);
  assert.deepEqual(matched("node-role.kubernetes.io/control-plane"), ["controlPlane"]);
});

Deno.test("label selector: equality and inequality (!= matches a Node without the label)", () => {
  assert.deepEqual(matched("pool=spot"), ["spot"]);
  assert.deepEqual(matched("pool==spot"), ["spot"]);
  assert.deepEqual(matched("pool!=spot"), ["controlPlane", "worker", "bare"]);
  assert.deepEqual(matched("node-role.kubernetes.io/control-plane="), ["controlPlane"]);
});

Deno.test("label selector: in and notin (notin matches a Node without the label)", () => {
  assert.deepEqual(matched("zone in (a, b)"), ["worker", "spot"]);
  assert.deepEqual(matched("zone in (b)"), ["spot"]);
  assert.deepEqual(matched("zone notin (a)"), ["controlPlane", "spot", "bare"]);
});

Deno.test("label selector: every requirement must hold; empty matches everything", () => {
  assert.deepEqual(
    matched("kubernetes.io/os=linux,!node-role.kubernetes.io/control-plane, pool!=spot"),
    ["worker"],
  );
  assert.deepEqual(matched(""), ["controlPlane", "worker", "spot", "bare"]);
  assert.deepEqual(matched("  "), ["controlPlane", "worker", "spot", "bare"]);
});

Deno.test("label selector: > and < compare integers; a label that is not one never matches", () => {
  assert.deepEqual(matched("cpu-count>8"), ["spot"]);
  assert.deepEqual(matched("cpu-count<8"), []);
  assert.equal(matchesLabels(parseLabelSelector("cpu-count>8"), { "cpu-count": "many" }), false);
});

Deno.test("label selector: what is parsed", () => {
  assert.deepEqual(parseLabelSelector("a in (x,y),!b,c!=d").requirements, [
    { key: "a", operator: "in", values: ["x", "y"] },
    { key: "b", operator: "!exists", values: [] },
    { key: "c", operator: "!=", values: ["d"] },
  ]);
});

Deno.test("label selector: bad selectors are refused, saying what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["=spot", /expected a label key, found "="/],
    ["pool=spot,", /expected a label key, found the end/],
    ["pool in spot", /expected "\(" after "pool in", found "spot"/],
    ["pool in ()", /"pool in \(\)" needs at least one value/],
    ["pool in (a b)", /expected "," or "\)" in the values of "pool", found "b"/],
    ["pool spot", /expected an operator .* after "pool", found "spot"/],
    ["pool=spot zone=a", /expected "," between requirements, found "zone"/],
    ["Bad_Prefix.io/x", /prefix "Bad_Prefix.io" must be a DNS subdomain/],
    ["-pool", /"-pool" is not a label key/],
    ["pool=-spot", /"-spot" is not a label value/],
    ["cpu>many", /"cpu>" needs an integer, found "many"/],
    [`pool=${"x".repeat(64)}`, /is not a label value/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseLabelSelector(text), (error) => {
      assert.ok(error instanceof LabelSelectorError, `${text}: ${error}`);
      assert.match(error.message, message, text);
      return true;
    });
  }
});
