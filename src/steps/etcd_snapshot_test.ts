// etcd-snapshot runs the plan's command on a control-plane node through its driver (the local
// driver here: a real `sh`, `NODE_ROOT` set) and checks that the snapshot is there. The real
// `etcdctl snapshot save` against real members: test/rotation/etcd_ca_rotation_test.ts.
import assert from "node:assert/strict";
import { hasChanges } from "../engine/change.ts";
import { etcdSnapshot, snapshotChanges } from "./etcd_snapshot.ts";
import { assertRejectsNaming } from "./_test_assertions.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";

const PATH = "/var/lib/etcd-snapshot/before.db";

const stepOf = (fields: Record<string, unknown> = {}) =>
  etcdSnapshot.schema.parse({
    id: "etcd-snapshot",
    phase: "trust",
    kind: "etcd-snapshot",
    path: PATH,
    command: [
      "sh",
      "-c",
      `mkdir -p "$NODE_ROOT/var/lib/etcd-snapshot" && printf snapshot > "$NODE_ROOT${PATH}"`,
    ],
    ...fields,
  });

Deno.test("etcd-snapshot: runs the command on the first control-plane node, which keeps it", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
  const step = stepOf();
  const observed = await etcdSnapshot.observe(ctx, step);
  assert.equal(observed.node, "cp-1");
  const changes = etcdSnapshot.diff(observed, step);
  assert.ok(hasChanges(changes));
  await etcdSnapshot.apply(ctx, step, changes);
  await etcdSnapshot.verify(ctx, step);
  assert.equal(await cluster.read("cp-1", PATH), "snapshot");
  await assert.rejects(cluster.read("cp-2", PATH));
  assert.match(
    ctx.log.lines.join("\n"),
    /etcd snapshot taken: kept at cp-1:\/var\/lib\/etcd-snapshot\/before\.db/,
  );
});

Deno.test("etcd-snapshot: a named node; a failing command fails the step with its exit and output", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
  const named = stepOf({ node: "cp-2" });
  await etcdSnapshot.apply(
    ctx,
    named,
    etcdSnapshot.diff(await etcdSnapshot.observe(ctx, named), named),
  );
  assert.equal(await cluster.read("cp-2", PATH), "snapshot");

  const failing = stepOf({ command: ["sh", "-c", `echo "no etcdctl for ${PATH}" >&2; exit 4`] });
  await assertRejectsNaming(
    etcdSnapshot.apply(
      ctx,
      failing,
      etcdSnapshot.diff(await etcdSnapshot.observe(ctx, failing), failing),
    ),
    "cp-1",
    "exit 4",
    "no etcdctl",
  );
  // A command that exits 0 without writing the snapshot does not pass verify.
  await assertRejectsNaming(
    etcdSnapshot.verify(ctx, stepOf({ node: "cp-2", path: "/nowhere.db" })),
    "cp-2",
    "/nowhere.db",
  );
});

Deno.test("etcd-snapshot: a dry run shows the snapshot as a change and runs nothing", async () => {
  await using cluster = await LocalNodesCluster.create();
  const ctx = cluster.dryRun();
  const step = stepOf();
  const changes = etcdSnapshot.diff(await etcdSnapshot.observe(ctx, step), step);
  await etcdSnapshot.apply(ctx, step, changes);
  await assert.rejects(cluster.read("cp-1", PATH), "nothing written");
  assert.deepEqual(snapshotChanges({ node: "cp-1", path: PATH, command: ["etcdctl", PATH] }), [{
    action: "create",
    target: { type: "file", node: "cp-1", path: PATH },
    after: `etcd snapshot, written by: etcdctl ${PATH}\n`,
    reason: "etcd snapshot before its CA changes",
  }]);
});

Deno.test("etcd-snapshot: plan rules: the command names the path, the node is a control-plane node", async () => {
  await using cluster = await LocalNodesCluster.create();
  assert.deepEqual(etcdSnapshot.rules?.(stepOf(), cluster.plan), []);
  assert.deepEqual(
    etcdSnapshot.rules?.(
      stepOf({ command: ["etcdctl", "snapshot", "save", "/elsewhere.db"], node: "worker-1" }),
      cluster.plan,
    ),
    [
      { path: ["command"], message: `no argument names the snapshot path ${PATH}` },
      { path: ["node"], message: 'unknown control-plane node "worker-1" (nodes: cp-1, cp-2)' },
    ],
  );
  const relative = etcdSnapshot.schema.safeParse({ ...stepOf(), path: "snap.db" });
  assert.equal(relative.success, false);
  const empty = etcdSnapshot.schema.safeParse({ ...stepOf(), command: [] });
  assert.equal(empty.success, false);
});
