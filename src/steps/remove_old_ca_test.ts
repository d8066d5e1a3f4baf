import assert from "node:assert/strict";
import { hasChanges, targetName } from "../engine/change.ts";
import { renderChanges } from "../diff/mod.ts";
import { activateCa } from "./activate_ca.ts";
import { distributeCa } from "./distribute_ca.ts";
import { removeOldCa } from "./remove_old_ca.ts";
import {
  assertNoKeyMaterial,
  assertRejectsNaming,
  changeOf,
  describe,
} from "./_test_assertions.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";
import {
  KUBE_CONTROLLER_MANAGER_MANIFEST,
  KUBELET_CONF,
  KUBELET_CONFIG,
  kubeletConfigText,
  MANIFESTS,
  PKI,
} from "./_test_kubeadm_files.ts";

type CaName = "cluster" | "frontProxy";

const stepOf = (ca: CaName) =>
  removeOldCa.schema.parse({
    id: ca === "cluster" ? "remove-old-cluster-ca" : "remove-old-front-proxy-ca",
    phase: "finalize",
    kind: "remove-old-ca",
    ca,
  });

/**
 * A cluster at the end of finalize for `cas`: distributed and activated on the control plane,
 * the worker's kubelet given the bundle in trust (roll-kubelets) and the new CA since; every
 * manifest and kubelet config points at ca.crt again.
 */
async function finalized(cas: readonly CaName[] = ["cluster"]): Promise<LocalNodesCluster> {
  const cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
  for (const ca of cas) {
    const distribute = distributeCa.schema.parse({
      id: "d",
      phase: "trust",
      kind: "distribute-ca",
      ca,
    });
    await distributeCa.apply(
      ctx,
      distribute,
      distributeCa.diff(await distributeCa.observe(ctx, distribute), distribute),
    );
    const activate = activateCa.schema.parse({ id: "a", phase: "switch", kind: "activate-ca", ca });
    await activateCa.apply(
      ctx,
      activate,
      activateCa.diff(await activateCa.observe(ctx, activate), activate),
    );
  }
  if (cas.includes("cluster")) {
    await cluster.put(
      "worker-1",
      `${PKI}/ca-bundle.crt`,
      await cluster.read("cp-1", `${PKI}/ca-bundle.crt`),
    );
    await cluster.put("worker-1", `${PKI}/ca.crt`, cluster.cas.newCluster.certPem);
  }
  return cluster;
}

Deno.test("remove-old-ca: the bundle and the staged copies are to go from every node, the staged key masked", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = removeOldCa.diff(await removeOldCa.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    `delete cp-1:${PKI}/ca-bundle.crt`,
    `delete cp-1:${PKI}/ca-new.crt`,
    `delete cp-1:${PKI}/ca-new.key`,
    `delete cp-2:${PKI}/ca-bundle.crt`,
    `delete cp-2:${PKI}/ca-new.crt`,
    `delete cp-2:${PKI}/ca-new.key`,
    `delete worker-1:${PKI}/ca-bundle.crt`,
  ]);
  for (const change of changes) assert.equal(change.after, undefined);
  assert.equal(changeOf(changes, "cp-2", `${PKI}/ca-new.key`).sensitive, true);
  assert.ok(!changeOf(changes, "cp-2", `${PKI}/ca-bundle.crt`).sensitive);
  assertNoKeyMaterial(
    renderChanges(changes, { color: false, stepId: step.id }),
    cluster.cas.newCluster.keyPem,
  );
});

Deno.test("remove-old-ca: apply deletes exactly its diff and keeps a backup of each (the key 0600); then nothing is left and verify passes", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const changes = removeOldCa.diff(await removeOldCa.observe(ctx, step), step);
  await assertRejectsNaming(removeOldCa.verify(ctx, step), "cp-1", `${PKI}/ca-bundle.crt`);
  const before = await cluster.snapshot();

  await removeOldCa.apply(ctx, step, changes);

  const after = await cluster.snapshot();
  const gone = [...before.keys()].filter((file) => !after.has(file));
  assert.deepEqual(gone.sort(), changes.map((change) => targetName(change.target)).sort());
  assert.equal(after.size, before.size - gone.length, "nothing else changed");
  for (const node of ["cp-1", "cp-2"]) {
    assert.equal(await cluster.read(node, `${PKI}/ca.crt`), cluster.cas.newCluster.certPem);
    assert.equal(await cluster.read(node, `${PKI}/ca.key`), cluster.cas.newCluster.keyPem);
    const [key] = await cluster.backups(node, `${PKI}/ca-new.key`);
    assert.equal(await cluster.read(node, key), cluster.cas.newCluster.keyPem);
    assert.equal(await cluster.mode(node, key), 0o600);
    assert.equal((await cluster.backups(node, `${PKI}/ca-bundle.crt`)).length, 1);
  }
  assert.equal((await cluster.backups("worker-1", `${PKI}/ca-bundle.crt`)).length, 1);

  const again = removeOldCa.diff(await removeOldCa.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
  await removeOldCa.verify(ctx, step);

  await cluster.put(
    "worker-1",
    `${PKI}/ca-bundle.crt`,
    before.get(`worker-1:${PKI}/ca-bundle.crt`)!,
  );
  await assertRejectsNaming(removeOldCa.verify(ctx, step), "worker-1", `${PKI}/ca-bundle.crt`);
});

Deno.test("remove-old-ca: refused while a manifest or a kubelet config still references the bundle", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const apiserver = `${MANIFESTS}/kube-apiserver.yaml`;
  const manifest = await cluster.read("cp-2", apiserver);
  await cluster.put(
    "cp-2",
    apiserver,
    manifest.replace(
      "--client-ca-file=/etc/kubernetes/pki/ca.crt",
      "--client-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
    ),
    0o600,
  );
  await assertRejectsNaming(
    removeOldCa.observe(ctx, step),
    "cp-2",
    apiserver,
    `${PKI}/ca-bundle.crt`,
    "still references",
  );

  await cluster.put("cp-2", apiserver, manifest, 0o600);
  await cluster.put("worker-1", KUBELET_CONFIG, kubeletConfigText(`${PKI}/ca-bundle.crt`));
  await assertRejectsNaming(
    removeOldCa.observe(ctx, step),
    "worker-1",
    KUBELET_CONFIG,
    `${PKI}/ca-bundle.crt`,
  );

  await cluster.put("worker-1", KUBELET_CONFIG, kubeletConfigText(`${PKI}/ca.crt`));
  assert.equal(removeOldCa.diff(await removeOldCa.observe(ctx, step), step).length, 7);
});

Deno.test("remove-old-ca: refused while cloud-controller-manager's manifest or a kubeconfig (certificate-authority: <path>) still names the bundle", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();

  // A cloud-controller-manager the plan's (optional) steps did not reach: still on the bundle.
  const ccm = `${MANIFESTS}/cloud-controller-manager.yaml`;
  await cluster.put(
    "cp-1",
    ccm,
    KUBE_CONTROLLER_MANAGER_MANIFEST
      .replaceAll("kube-controller-manager", "cloud-controller-manager")
      .replace(
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--root-ca-file=/etc/kubernetes/pki/ca-bundle.crt",
      ),
    0o600,
  );
  await assertRejectsNaming(
    removeOldCa.observe(ctx, step),
    "cp-1",
    ccm,
    `${PKI}/ca-bundle.crt`,
    "still references",
  );
  await Deno.remove(cluster.node("cp-1").hostPath(ccm));

  // A kubeconfig that names the bundle by path rather than carrying the CA data.
  const admin = "/etc/kubernetes/admin.conf";
  const adminText = await cluster.read("cp-2", admin);
  const byPath = adminText.replace(
    /certificate-authority-data: \S+/,
    `certificate-authority: ${PKI}/ca-bundle.crt`,
  );
  assert.notEqual(byPath, adminText);
  await cluster.put("cp-2", admin, byPath, 0o600);
  await assertRejectsNaming(removeOldCa.observe(ctx, step), "cp-2", admin, `${PKI}/ca-bundle.crt`);
  await cluster.put("cp-2", admin, adminText, 0o600);

  // The workers' kubelet.conf too.
  const kubeletConf = await cluster.read("worker-1", KUBELET_CONF);
  await cluster.put(
    "worker-1",
    KUBELET_CONF,
    kubeletConf.replace(
      /certificate-authority-data: \S+/,
      `certificate-authority: ${PKI}/ca-bundle.crt`,
    ),
    0o600,
  );
  await assertRejectsNaming(
    removeOldCa.observe(ctx, step),
    "worker-1",
    KUBELET_CONF,
    `${PKI}/ca-bundle.crt`,
  );
  await cluster.put("worker-1", KUBELET_CONF, kubeletConf, 0o600);

  assert.deepEqual(await cluster.snapshot(), before, "nothing was removed while referenced");
  assert.equal(removeOldCa.diff(await removeOldCa.observe(ctx, step), step).length, 7);
});

Deno.test("remove-old-ca: verify fails naming a staged copy of the new CA (its key) left on a node", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  await removeOldCa.apply(ctx, step, removeOldCa.diff(await removeOldCa.observe(ctx, step), step));
  await removeOldCa.verify(ctx, step);

  await cluster.put("cp-2", `${PKI}/ca-new.key`, before.get(`cp-2:${PKI}/ca-new.key`)!, 0o600);
  await assertRejectsNaming(removeOldCa.verify(ctx, step), "cp-2", `${PKI}/ca-new.key`);
  await Deno.remove(cluster.node("cp-2").hostPath(`${PKI}/ca-new.key`));
  await cluster.put("cp-1", `${PKI}/ca-new.crt`, before.get(`cp-1:${PKI}/ca-new.crt`)!);
  await assertRejectsNaming(removeOldCa.verify(ctx, step), "cp-1", `${PKI}/ca-new.crt`);
});

Deno.test("remove-old-ca: the front-proxy CA's files go, the cluster CA's stay", async () => {
  await using cluster = await finalized(["cluster", "frontProxy"]);
  const step = stepOf("frontProxy");
  const ctx = cluster.context({ stepId: step.id });
  const changes = removeOldCa.diff(await removeOldCa.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [
    `delete cp-1:${PKI}/front-proxy-ca-bundle.crt`,
    `delete cp-1:${PKI}/front-proxy-ca-new.crt`,
    `delete cp-1:${PKI}/front-proxy-ca-new.key`,
    `delete cp-2:${PKI}/front-proxy-ca-bundle.crt`,
    `delete cp-2:${PKI}/front-proxy-ca-new.crt`,
    `delete cp-2:${PKI}/front-proxy-ca-new.key`,
  ]);
  await removeOldCa.apply(ctx, step, changes);
  await removeOldCa.verify(ctx, step);
  assert.ok(await cluster.read("cp-1", `${PKI}/ca-bundle.crt`));
  await assertRejectsNaming(
    removeOldCa.verify(ctx, stepOf("cluster")),
    "cp-1",
    `${PKI}/ca-bundle.crt`,
  );
});

Deno.test("remove-old-ca: a dry run deletes nothing and then sees nothing left to do", async () => {
  await using cluster = await finalized();
  const step = stepOf("cluster");
  const ctx = cluster.dryRun({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = removeOldCa.diff(await removeOldCa.observe(ctx, step), step);
  assert.equal(changes.length, 7);
  await removeOldCa.apply(ctx, step, changes);
  assert.deepEqual(await cluster.snapshot(), before);
  assert.deepEqual(removeOldCa.diff(await removeOldCa.observe(ctx, step), step), []);
});

Deno.test("remove-old-ca: the plan format puts it in finalize, after an activate-ca of the same CA", () => {
  assert.deepEqual(removeOldCa.phases, ["finalize"]);
  assert.deepEqual(removeOldCa.needsEarlier, ["activate-ca"]);
});
