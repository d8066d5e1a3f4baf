import assert from "node:assert/strict";
import { hasChanges, targetName } from "../engine/change.ts";
import { renderChanges } from "../diff/mod.ts";
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
import { fingerprints } from "./_test_pki.ts";

const stepFor = (ca: "cluster" | "frontProxy") =>
  distributeCa.schema.parse({
    id: ca === "cluster" ? "distribute-cluster-ca" : "distribute-front-proxy-ca",
    phase: "trust",
    kind: "distribute-ca",
    ca,
  });

Deno.test("distribute-ca: stages the new CA, its key (0600, masked) and the bundle on every control-plane node", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();

  const changes = distributeCa.diff(await distributeCa.observe(ctx, step), step);

  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");
  assert.deepEqual(describe(changes), [
    `create cp-1:${PKI}/ca-new.crt`,
    `create cp-1:${PKI}/ca-new.key`,
    `create cp-1:${PKI}/ca-bundle.crt`,
    `create cp-2:${PKI}/ca-new.crt`,
    `create cp-2:${PKI}/ca-new.key`,
    `create cp-2:${PKI}/ca-bundle.crt`,
  ]);
  const { oldCluster, newCluster } = cluster.cas;
  for (const node of ["cp-1", "cp-2"]) {
    const cert = changeOf(changes, node, `${PKI}/ca-new.crt`);
    assert.equal(cert.after, newCluster.certPem);
    assert.ok(!cert.sensitive, "a certificate is shown");
    const key = changeOf(changes, node, `${PKI}/ca-new.key`);
    assert.equal(key.after, newCluster.keyPem);
    assert.equal(key.sensitive, true);
    assert.deepEqual(key.target, { type: "file", node, path: `${PKI}/ca-new.key`, mode: 0o600 });
    const bundle = changeOf(changes, node, `${PKI}/ca-bundle.crt`);
    assert.deepEqual(
      await fingerprints(bundle.after!),
      [await fingerprints(oldCluster.certPem), await fingerprints(newCluster.certPem)].flat(),
      "the bundle is the old CA, then the new one",
    );
  }

  const rendered = renderChanges(changes, { color: false, stepId: step.id });
  assertNoKeyMaterial(rendered, newCluster.keyPem);
  assert.match(
    rendered,
    /^\[distribute-cluster-ca\] \+ create cp-2:\/etc\/kubernetes\/pki\/ca-new\.key \(mode 0600\) \(sensitive\)/m,
  );
});

Deno.test("distribute-ca: apply writes exactly its diff, keys 0600; then nothing is left to do and verify passes", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  const before = await cluster.snapshot();

  await distributeCa.apply(ctx, step, changes);

  const after = await cluster.snapshot();
  const changed = [...after.keys()].filter((file) => after.get(file) !== before.get(file));
  assert.deepEqual(changed.sort(), changes.map((change) => targetName(change.target)).sort());
  for (const node of ["cp-1", "cp-2"]) {
    assert.equal(await cluster.mode(node, `${PKI}/ca-new.key`), 0o600);
    assert.equal(await cluster.read(node, `${PKI}/ca-new.key`), cluster.cas.newCluster.keyPem);
    assert.equal(await cluster.read(node, `${PKI}/ca.crt`), cluster.cas.oldCluster.certPem);
    assert.equal(await cluster.read(node, `${PKI}/ca.key`), cluster.cas.oldCluster.keyPem);
  }

  const again = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
  await distributeCa.verify(ctx, step);
});

Deno.test("distribute-ca: verify fails naming the node and the bundle that does not hold the new CA", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.context({ stepId: step.id });
  await assertRejectsNaming(distributeCa.verify(ctx, step), "cp-1", `${PKI}/ca-bundle.crt`);

  await distributeCa.apply(
    ctx,
    step,
    distributeCa.diff(await distributeCa.observe(ctx, step), step),
  );
  await distributeCa.verify(ctx, step);
  // Someone rebuilt cp-2's bundle from the old CA alone.
  await cluster.put("cp-2", `${PKI}/ca-bundle.crt`, cluster.cas.oldCluster.certPem);
  await assertRejectsNaming(distributeCa.verify(ctx, step), "cp-2", `${PKI}/ca-bundle.crt`);
});

Deno.test("distribute-ca: a run interrupted after the first node resumes with the rest", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  const firstNode = changes.filter((change) =>
    change.target.type === "file" && change.target.node === "cp-1"
  );
  await distributeCa.apply(ctx, step, firstNode);

  const left = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.deepEqual(describe(left), [
    `create cp-2:${PKI}/ca-new.crt`,
    `create cp-2:${PKI}/ca-new.key`,
    `create cp-2:${PKI}/ca-bundle.crt`,
  ]);
});

Deno.test("distribute-ca: repeated after activate-ca, it keeps the bundle with the old CA; it never builds one without it", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.context({ stepId: step.id });
  await distributeCa.apply(
    ctx,
    step,
    distributeCa.diff(await distributeCa.observe(ctx, step), step),
  );
  const activate = activateCa.schema.parse({
    id: "activate-cluster-ca",
    phase: "switch",
    kind: "activate-ca",
    ca: "cluster",
  });
  await activateCa.apply(
    ctx,
    activate,
    activateCa.diff(await activateCa.observe(ctx, activate), activate),
  );
  const { oldCluster, newCluster } = cluster.cas;
  const bothCas = [await fingerprints(oldCluster.certPem), await fingerprints(newCluster.certPem)]
    .flat();
  assert.equal(await cluster.read("cp-1", `${PKI}/ca.crt`), newCluster.certPem);

  // ca.crt is the new CA now: the bundle (old + new) is what there is to keep.
  const again = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.deepEqual(describe(again), []);
  await distributeCa.apply(ctx, step, again);
  for (const node of ["cp-1", "cp-2"]) {
    assert.deepEqual(await fingerprints(await cluster.read(node, `${PKI}/ca-bundle.crt`)), bothCas);
  }
  await distributeCa.verify(ctx, step);

  // A bundle that lacks the new CA gets it added to the old CA it holds.
  await cluster.put("cp-2", `${PKI}/ca-bundle.crt`, oldCluster.certPem);
  const added = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.deepEqual(describe(added), [`update cp-2:${PKI}/ca-bundle.crt`]);
  assert.deepEqual(await fingerprints(added[0].after!), bothCas);

  // Without the bundle, or with the new CA alone in it, the old CA is gone: refused.
  await cluster.put("cp-2", `${PKI}/ca-bundle.crt`, newCluster.certPem);
  await assertRejectsNaming(
    distributeCa.observe(ctx, step),
    "cp-2",
    `${PKI}/ca-bundle.crt`,
    "old CA",
  );
  await assertRejectsNaming(
    distributeCa.verify(ctx, step),
    "cp-2",
    `${PKI}/ca-bundle.crt`,
    "old CA",
  );
  await Deno.remove(cluster.node("cp-2").hostPath(`${PKI}/ca-bundle.crt`));
  await assertRejectsNaming(
    distributeCa.observe(ctx, step),
    "cp-2",
    `${PKI}/ca-bundle.crt`,
    "missing",
  );
  assert.deepEqual(await fingerprints(await cluster.read("cp-1", `${PKI}/ca-bundle.crt`)), bothCas);
});

Deno.test("distribute-ca: the front-proxy CA is staged under front-proxy-ca-*, the cluster CA's files untouched", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("frontProxy");
  const ctx = cluster.context({ stepId: step.id });
  const changes = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.deepEqual(describe(changes).filter((line) => line.includes("cp-1")), [
    `create cp-1:${PKI}/front-proxy-ca-new.crt`,
    `create cp-1:${PKI}/front-proxy-ca-new.key`,
    `create cp-1:${PKI}/front-proxy-ca-bundle.crt`,
  ]);
  const { oldFrontProxy, newFrontProxy } = cluster.cas;
  await distributeCa.apply(ctx, step, changes);
  assert.deepEqual(
    await fingerprints(await cluster.read("cp-2", `${PKI}/front-proxy-ca-bundle.crt`)),
    [await fingerprints(oldFrontProxy.certPem), await fingerprints(newFrontProxy.certPem)].flat(),
  );
  assert.equal(await cluster.mode("cp-2", `${PKI}/front-proxy-ca-new.key`), 0o600);
  assert.equal(await cluster.node("cp-1").readFile(`${PKI}/ca-bundle.crt`), undefined);
  await distributeCa.verify(ctx, step);
  await assertRejectsNaming(
    distributeCa.verify(ctx, stepFor("cluster")),
    "cp-1",
    `${PKI}/ca-bundle.crt`,
  );
});

Deno.test("distribute-ca: a dry run writes nothing to the nodes and then sees nothing left to do", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  const ctx = cluster.dryRun({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = distributeCa.diff(await distributeCa.observe(ctx, step), step);
  assert.equal(changes.length, 6);
  await distributeCa.apply(ctx, step, changes);
  assert.deepEqual(await cluster.snapshot(), before);
  assert.deepEqual(distributeCa.diff(await distributeCa.observe(ctx, step), step), []);
});

Deno.test("distribute-ca: observe refuses a control-plane node without its current CA", async () => {
  await using cluster = await LocalNodesCluster.create();
  const step = stepFor("cluster");
  await Deno.remove(cluster.node("cp-2").hostPath(`${PKI}/ca.crt`));
  await assertRejectsNaming(
    distributeCa.observe(cluster.context(), step),
    "cp-2",
    `${PKI}/ca.crt`,
    "missing",
  );
});

Deno.test("distribute-ca: the plan format allows it in the trust phase only, for a known CA", () => {
  assert.deepEqual(distributeCa.phases, ["trust"]);
  assert.equal(
    distributeCa.schema.safeParse({
      id: "d",
      phase: "trust",
      kind: "distribute-ca",
      ca: "unknown-ca",
    })
      .success,
    false,
  );
});
