// etcd-trust-gate asks every etcd member, with certificates of the new etcd CA it holds in memory,
// on the client and on the peer port. Members that accept or refuse them are real etcd:
// test/rotation/etcd_ca_rotation_test.ts. Here: what it makes of the answers, and that it writes
// nothing.
import assert from "node:assert/strict";
import { etcdTrustGate, refusal } from "./etcd_trust_gate.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";

const member = {
  node: "cp-1",
  clientUrl: "https://198.18.1.1:2379",
  peerUrl: "https://198.18.1.1:2380",
};

Deno.test("etcd-trust-gate: a member passes only when both ports answer 200", () => {
  assert.equal(refusal(member, { status: 200 }, { status: 200 }), undefined);
  assert.equal(
    refusal(member, { error: "invalid peer certificate: UnknownIssuer" }, { status: 200 }),
    "cp-1: client port https://198.18.1.1:2379: invalid peer certificate: UnknownIssuer",
  );
  assert.equal(
    refusal(member, { status: 200 }, { status: 403 }),
    "cp-1: peer port https://198.18.1.1:2380: HTTP 403",
  );
  assert.match(
    refusal(member, { error: "connection refused" }, {
      error: "received fatal alert: BadCertificate",
    }) ??
      "",
    /client port .*connection refused; peer port .*BadCertificate/,
  );
});

Deno.test("etcd-trust-gate: only checks: no changes, acts on the etcd CA, needs a distribute-ca", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = etcdTrustGate.schema.parse({
    id: "etcd-trust-gate",
    phase: "trust",
    kind: "etcd-trust-gate",
  });
  assert.equal(step.timeoutSeconds, 120);
  assert.deepEqual(
    etcdTrustGate.diff(await etcdTrustGate.observe(cluster.context(), step), step),
    [],
  );
  assert.deepEqual(etcdTrustGate.cas?.(step, cluster.plan), ["etcd"]);
  assert.deepEqual(etcdTrustGate.needsEarlier, ["distribute-ca"]);
  assert.ok("nothing" in etcdTrustGate.undo);
});
