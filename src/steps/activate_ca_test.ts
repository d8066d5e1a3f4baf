import assert from "node:assert/strict";
import { hasChanges, targetName } from "../engine/change.ts";
import { renderChanges } from "../diff/mod.ts";
import { loadCa } from "../pki/mod.ts";
import { activateCa } from "./activate_ca.ts";
import { distributeCa } from "./distribute_ca.ts";
import {
  assertNoKeyMaterial,
  assertRejectsNaming,
  changeOf,
  describe,
} from "./_test_assertions.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";
import { PKI } from "./_test_kubeadm_files.ts";

type CaName = "cluster" | "frontProxy";

const activateStep = (ca: CaName) =>
  activateCa.schema.parse({
    id: ca === "cluster" ? "activate-cluster-ca" : "activate-front-proxy-ca",
    phase: "switch",
    kind: "activate-ca",
    ca,
  });

/** A cluster where distribute-ca has run for `ca` (what the plan requires before activate-ca). */
async function distributed(ca: CaName = "cluster"): Promise<LocalNodesCluster> {
  const cluster = await LocalNodesCluster.create();
  const step = distributeCa.schema.parse({
    id: "distribute",
    phase: "trust",
    kind: "distribute-ca",
    ca,
  });
  const ctx = cluster.context({ stepId: step.id });
  await distributeCa.apply(
    ctx,
    step,
    distributeCa.diff(await distributeCa.observe(ctx, step), step),
  );
  return cluster;
}

Deno.test("activate-ca: the new CA is to become ca.crt and ca.key on every control-plane node, keys masked", async () => {
  await using cluster = await distributed();
  const step = activateStep("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = activateCa.diff(await activateCa.observe(ctx, step), step);

  assert.deepEqual(describe(changes), [
    `update cp-1:${PKI}/ca.crt`,
    `update cp-1:${PKI}/ca.key`,
    `update cp-2:${PKI}/ca.crt`,
    `update cp-2:${PKI}/ca.key`,
  ]);
  const { oldCluster, newCluster } = cluster.cas;
  for (const node of ["cp-1", "cp-2"]) {
    const cert = changeOf(changes, node, `${PKI}/ca.crt`);
    assert.equal(cert.before, oldCluster.certPem);
    assert.equal(cert.after, newCluster.certPem);
    const key = changeOf(changes, node, `${PKI}/ca.key`);
    assert.equal(key.before, oldCluster.keyPem);
    assert.equal(key.after, newCluster.keyPem);
    assert.equal(key.sensitive, true);
    assert.equal(key.target.type === "file" && key.target.mode, 0o600);
  }
  const rendered = renderChanges(changes, { color: false, stepId: step.id });
  assertNoKeyMaterial(rendered, oldCluster.keyPem);
  assertNoKeyMaterial(rendered, newCluster.keyPem);
});

Deno.test("activate-ca: apply installs a signing pair that matches, backs up the old one (0600); then nothing is left and verify passes", async () => {
  await using cluster = await distributed();
  const step = activateStep("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = activateCa.diff(await activateCa.observe(ctx, step), step);
  const before = await cluster.snapshot();

  await activateCa.apply(ctx, step, changes);

  const after = await cluster.snapshot();
  const changed = [...after.keys()].filter((file) => after.get(file) !== before.get(file));
  assert.deepEqual(changed.sort(), changes.map((change) => targetName(change.target)).sort());
  const { oldCluster, newCluster } = cluster.cas;
  for (const node of ["cp-1", "cp-2"]) {
    const cert = await cluster.read(node, `${PKI}/ca.crt`);
    const key = await cluster.read(node, `${PKI}/ca.key`);
    assert.equal(cert, newCluster.certPem);
    // What the controller-manager signs with (--cluster-signing-*-file) is a coherent pair.
    await loadCa(cert, key, `${node}:${PKI}/ca`);
    assert.equal(await cluster.mode(node, `${PKI}/ca.key`), 0o600);
    // Nothing lost: the old CA key is kept, as private as it was.
    const [backup] = await cluster.backups(node, `${PKI}/ca.key`);
    assert.ok(backup, `${node}: no backup of ${PKI}/ca.key`);
    assert.equal(await cluster.read(node, backup), oldCluster.keyPem);
    assert.equal(await cluster.mode(node, backup), 0o600);
  }

  const again = activateCa.diff(await activateCa.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
  await activateCa.verify(ctx, step);
});

Deno.test("activate-ca: verify fails naming the node whose ca.crt is not the new CA", async () => {
  await using cluster = await distributed();
  const step = activateStep("cluster");
  const ctx = cluster.context({ stepId: step.id });
  await assertRejectsNaming(activateCa.verify(ctx, step), "cp-1", `${PKI}/ca.crt`);

  await activateCa.apply(ctx, step, activateCa.diff(await activateCa.observe(ctx, step), step));
  await activateCa.verify(ctx, step);
  await cluster.put("cp-2", `${PKI}/ca.crt`, cluster.cas.oldCluster.certPem);
  await assertRejectsNaming(activateCa.verify(ctx, step), "cp-2", `${PKI}/ca.crt`);
});

Deno.test("activate-ca: verify fails naming the node whose ca.key is not the new CA's (a new ca.crt beside the old key)", async () => {
  await using cluster = await distributed();
  const step = activateStep("cluster");
  const ctx = cluster.context({ stepId: step.id });
  await activateCa.apply(ctx, step, activateCa.diff(await activateCa.observe(ctx, step), step));
  await activateCa.verify(ctx, step);

  // cp-2's certificate is the new CA, its key still the old one: it cannot sign as the new CA.
  await cluster.put("cp-2", `${PKI}/ca.key`, cluster.cas.oldCluster.keyPem, 0o600);
  assert.equal(await cluster.read("cp-2", `${PKI}/ca.crt`), cluster.cas.newCluster.certPem);
  await assertRejectsNaming(activateCa.verify(ctx, step), "cp-2", `${PKI}/ca.key`);
  // Another CA's key is no better.
  await cluster.put("cp-2", `${PKI}/ca.key`, cluster.cas.newFrontProxy.keyPem, 0o600);
  await assertRejectsNaming(activateCa.verify(ctx, step), "cp-2", `${PKI}/ca.key`);
  await Deno.remove(cluster.node("cp-2").hostPath(`${PKI}/ca.key`));
  await assertRejectsNaming(activateCa.verify(ctx, step), "cp-2", `${PKI}/ca.key`, "missing");

  // The next run puts the new key back; then verify passes.
  const left = activateCa.diff(await activateCa.observe(ctx, step), step);
  assert.deepEqual(describe(left), [`create cp-2:${PKI}/ca.key`]);
  await activateCa.apply(ctx, step, left);
  await activateCa.verify(ctx, step);
});

Deno.test("activate-ca: a run interrupted between a node's certificate and its key resumes with the key", async () => {
  await using cluster = await distributed();
  const step = activateStep("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = activateCa.diff(await activateCa.observe(ctx, step), step);
  await activateCa.apply(ctx, step, changes.slice(0, 1));

  const left = activateCa.diff(await activateCa.observe(ctx, step), step);
  assert.deepEqual(describe(left), [
    `update cp-1:${PKI}/ca.key`,
    `update cp-2:${PKI}/ca.crt`,
    `update cp-2:${PKI}/ca.key`,
  ]);
  await activateCa.apply(ctx, step, left);
  assert.deepEqual(activateCa.diff(await activateCa.observe(ctx, step), step), []);
});

Deno.test("activate-ca: the front-proxy CA replaces front-proxy-ca.crt/.key and leaves the cluster CA alone", async () => {
  await using cluster = await distributed("frontProxy");
  const step = activateStep("frontProxy");
  const ctx = cluster.context({ stepId: step.id });
  const changes = activateCa.diff(await activateCa.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [
    `update cp-1:${PKI}/front-proxy-ca.crt`,
    `update cp-1:${PKI}/front-proxy-ca.key`,
    `update cp-2:${PKI}/front-proxy-ca.crt`,
    `update cp-2:${PKI}/front-proxy-ca.key`,
  ]);
  await activateCa.apply(ctx, step, changes);
  assert.equal(await cluster.read("cp-1", `${PKI}/ca.crt`), cluster.cas.oldCluster.certPem);
  assert.equal(await cluster.mode("cp-2", `${PKI}/front-proxy-ca.key`), 0o600);
  await activateCa.verify(ctx, step);
  await assertRejectsNaming(
    activateCa.verify(ctx, activateStep("cluster")),
    "cp-1",
    `${PKI}/ca.crt`,
  );
});

Deno.test("activate-ca: the plan format puts it in switch, after a distribute-ca of the same CA", () => {
  assert.deepEqual(activateCa.phases, ["switch"]);
  assert.deepEqual(activateCa.needsEarlier, ["distribute-ca"]);
});
