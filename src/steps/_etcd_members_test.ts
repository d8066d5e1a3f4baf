import assert from "node:assert/strict";
import { etcdHealthUrl, leaderLast, transferTarget } from "./_etcd_quorum.ts";
import { memberOf } from "./_etcd_members.ts";

const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://198.18.1.2:2379
    - --initial-advertise-peer-urls=https://198.18.1.2:2380/,https://10.0.0.2:2380
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    name: etcd
    ports:
    - containerPort: 2381
      name: probe-port
      protocol: TCP
    readinessProbe:
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTP
`;

Deno.test("memberOf: the first advertised client and peer URL of kubeadm's etcd manifest", () => {
  assert.deepEqual(memberOf("cp-2", manifest, "cp-2:etcd.yaml"), {
    node: "cp-2",
    clientUrl: "https://198.18.1.2:2379",
    peerUrl: "https://198.18.1.2:2380",
  });
  assert.throws(
    () => memberOf("cp-2", manifest.replace(/.*advertise-client-urls.*\n/, ""), "cp-2:etcd.yaml"),
    /cp-2:etcd.yaml sets no --advertise-client-urls/,
  );
});

Deno.test("etcdHealthUrl: /health on the port of the manifest's probe (leader and quorum)", () => {
  assert.equal(etcdHealthUrl(manifest), "http://127.0.0.1:2381/health");
  assert.equal(etcdHealthUrl("kind: Pod\nspec:\n  containers:\n  - name: etcd\n"), undefined);
});

Deno.test("transferTarget: only a leader hands off, to another voting member", () => {
  const members = [
    { ID: "11" },
    { ID: "22", isLearner: true },
    { ID: "33" },
  ];
  assert.equal(transferTarget({ header: { member_id: "11" }, leader: "11" }, members), "33");
  assert.equal(transferTarget({ header: { member_id: "33" }, leader: "11" }, members), undefined);
  assert.equal(
    transferTarget({ header: { member_id: "11" }, leader: "11" }, [{ ID: "11" }]),
    undefined,
  );
  assert.equal(transferTarget({}, members), undefined);
});

Deno.test("transferTarget: a member already restarted is preferred", () => {
  const members = [{ ID: "11" }, { ID: "22" }, { ID: "33" }];
  const leading = { header: { member_id: "11" }, leader: "11" };
  assert.equal(transferTarget(leading, members, ["33"]), "33");
  assert.equal(transferTarget(leading, members, ["44"]), "22");
});

Deno.test("leaderLast: the leader's node restarts last, the others keep their order", () => {
  const statuses = new Map([
    ["cp-1", { header: { member_id: "11" }, leader: "22" }],
    ["cp-2", { header: { member_id: "22" }, leader: "22" }],
    ["cp-3", { header: { member_id: "33" }, leader: "22" }],
  ]);
  assert.deepEqual(leaderLast(["cp-1", "cp-2", "cp-3"], statuses), ["cp-1", "cp-3", "cp-2"]);
  assert.deepEqual(leaderLast(["cp-1", "cp-3"], statuses), ["cp-1", "cp-3"]);
  assert.deepEqual(leaderLast(["cp-2", "cp-1"], new Map()), ["cp-2", "cp-1"]);
});
