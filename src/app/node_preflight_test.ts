import assert from "node:assert/strict";
import { nodeMismatches } from "./node_preflight.ts";

Deno.test("node preflight: the plan's nodes match the cluster's", () => {
  const planned = [
    { name: "cp-1", group: "nodes.controlPlane", missingFiles: [] },
    { name: "worker-1", group: "nodes.workers", missingFiles: [] },
  ];
  assert.deepEqual(nodeMismatches(planned, ["worker-1", "cp-1", "worker-2"]), []);
});

Deno.test("node preflight: an unknown name and missing files are named with the node", () => {
  const problems = nodeMismatches([
    { name: "ghost", group: "nodes.workers", where: "root /tmp/ghost", missingFiles: [] },
    {
      name: "worker-1",
      group: "nodes.workers",
      where: "root /nowhere/worker-1",
      missingFiles: [],
      unreadable: "no such directory",
    },
    {
      name: "cp-1",
      group: "nodes.controlPlane",
      missingFiles: ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/ca.key"],
    },
  ], ["cp-1", "worker-1"]);
  assert.deepEqual(problems, [
    'node "ghost" (nodes.workers, root /tmp/ghost): the cluster has no Node named "ghost" ' +
    "(it has: cp-1, worker-1)",
    'node "worker-1" (nodes.workers, root /nowhere/worker-1): no such directory',
    'node "cp-1" (nodes.controlPlane): /etc/kubernetes/pki/ca.crt, /etc/kubernetes/pki/ca.key ' +
    "are missing — is this the node's root?",
  ]);
});
