import assert from "node:assert/strict";
import { coverageMessage, uncoveredNodes } from "./node_coverage.ts";

const cluster = [
  { name: "control-plane-1", address: "10.0.0.1" },
  { name: "worker-2", address: "10.0.0.22" },
  { name: "worker-1", address: "10.0.0.21" },
  { name: "gpu-1" },
];

Deno.test("a Node neither planned nor excluded is uncovered, named with its address", () => {
  const uncovered = uncoveredNodes(cluster, ["control-plane-1", "worker-1"], new Set(["gpu-1"]));
  assert.deepEqual(uncovered, [{ name: "worker-2", address: "10.0.0.22" }]);
  assert.match(
    coverageMessage(uncovered),
    /a Node the plan does not cover: worker-2 \(10\.0\.0\.22\) — add it to nodes\.workers/,
  );
});

Deno.test("every Node planned or excluded: nothing uncovered; several are listed in order", () => {
  assert.deepEqual(
    uncoveredNodes(cluster, ["control-plane-1", "worker-1", "worker-2"], new Set(["gpu-1"])),
    [],
  );
  const all = uncoveredNodes(cluster, [], new Set());
  assert.deepEqual(all.map((node) => node.name), [
    "control-plane-1",
    "gpu-1",
    "worker-1",
    "worker-2",
  ]);
  assert.match(
    coverageMessage(all),
    /Nodes the plan does not cover: control-plane-1 \(10\.0\.0\.1\), gpu-1, /,
  );
});
