import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { hasChanges, targetName } from "../engine/change.ts";
import { renderChanges } from "../diff/mod.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import { distributeCa } from "./distribute_ca.ts";
import { updateKubeconfigs } from "./update_kubeconfigs.ts";
import { assertNoKeyMaterial, assertRejectsNaming, describe } from "./_test_assertions.ts";
import { type ClusterOptions, LocalNodesCluster } from "./_test_cluster.ts";
import { KUBELET_CONF } from "./_test_kubeadm_files.ts";
import { fingerprints } from "./_test_pki.ts";

const FILES = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"];

/** The plan's kubeconfigs-trust-bundle / kubeconfigs-trust-new steps (plans/kubeadm.yaml). */
const stepOf = (fields: Record<string, unknown> = {}) =>
  updateKubeconfigs.schema.parse({
    id: "kubeconfigs-trust-bundle",
    phase: "trust",
    kind: "update-kubeconfigs",
    files: FILES,
    ifPresent: ["super-admin.conf"],
    caData: "bundle",
    ...fields,
  });

/** A cluster where distribute-ca has built the cluster CA bundle. */
async function distributed(options: ClusterOptions = {}): Promise<LocalNodesCluster> {
  const cluster = await LocalNodesCluster.create(options);
  const step = distributeCa.schema.parse({
    id: "distribute",
    phase: "trust",
    kind: "distribute-ca",
    ca: "cluster",
  });
  const ctx = cluster.context({ stepId: step.id });
  await distributeCa.apply(
    ctx,
    step,
    distributeCa.diff(await distributeCa.observe(ctx, step), step),
  );
  return cluster;
}

Deno.test("update-kubeconfigs: every control-plane kubeconfig (0600) is to trust the bundle; client keys stay and stay masked", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    "update cp-1:/etc/kubernetes/admin.conf",
    "update cp-1:/etc/kubernetes/super-admin.conf",
    "update cp-1:/etc/kubernetes/controller-manager.conf",
    "update cp-1:/etc/kubernetes/scheduler.conf",
    "update cp-2:/etc/kubernetes/admin.conf",
    "update cp-2:/etc/kubernetes/controller-manager.conf",
    "update cp-2:/etc/kubernetes/scheduler.conf",
  ]);
  const bundle = [
    ...await fingerprints(cluster.cas.oldCluster.certPem),
    ...await fingerprints(cluster.cas.newCluster.certPem),
  ];
  const rendered = renderChanges(changes, { color: false, stepId: step.id });
  for (const change of changes) {
    assert.equal(change.target.type === "file" && change.target.mode, 0o600);
    const [caData] = kubeconfigCaData(change.after!);
    assert.deepEqual(await fingerprints(caData), bundle, targetName(change.target));
    const client = kubeconfigClientCert(change.before!);
    assert.deepEqual(kubeconfigClientCert(change.after!), client, "the credentials are kept");
    assertNoKeyMaterial(rendered, client.keyPem!);
  }
  assert.match(changes[0].after!, /server: https:\/\/198\.18\.1\.100:6443/);
});

Deno.test("update-kubeconfigs: apply writes exactly its diff; nothing is left and verify passes, and fails naming a file reverted", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  const changes = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step);
  await assertRejectsNaming(
    updateKubeconfigs.verify(ctx, step),
    "cp-1",
    "/etc/kubernetes/admin.conf",
  );
  const before = await cluster.snapshot();

  await updateKubeconfigs.apply(ctx, step, changes);

  const after = await cluster.snapshot();
  const changed = [...after.keys()].filter((file) => after.get(file) !== before.get(file));
  assert.deepEqual(changed.sort(), changes.map((change) => targetName(change.target)).sort());
  assert.equal(await cluster.mode("cp-2", "/etc/kubernetes/scheduler.conf"), 0o600);
  const again = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step);
  assert.deepEqual(again, []);
  assert.equal(hasChanges(again), false);
  await updateKubeconfigs.verify(ctx, step);

  await cluster.put(
    "cp-2",
    "/etc/kubernetes/controller-manager.conf",
    before.get("cp-2:/etc/kubernetes/controller-manager.conf")!,
    0o600,
  );
  await assertRejectsNaming(
    updateKubeconfigs.verify(ctx, step),
    "cp-2",
    "/etc/kubernetes/controller-manager.conf",
  );
});

Deno.test("update-kubeconfigs: caData new leaves only the new CA (finalize)", async () => {
  await using cluster = await distributed();
  const trust = stepOf();
  const finalize = stepOf({ id: "kubeconfigs-trust-new", phase: "finalize", caData: "new" });
  const ctx = cluster.context();
  await updateKubeconfigs.apply(
    ctx,
    trust,
    updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, trust), trust),
  );

  const changes = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, finalize), finalize);
  assert.equal(changes.length, 7);
  const newOnly = await fingerprints(cluster.cas.newCluster.certPem);
  for (const change of changes) {
    assert.deepEqual(await fingerprints(kubeconfigCaData(change.after!)[0]), newOnly);
  }
  await updateKubeconfigs.apply(ctx, finalize, changes);
  assert.deepEqual(
    updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, finalize), finalize),
    [],
  );
  await updateKubeconfigs.verify(ctx, finalize);
  await assertRejectsNaming(
    updateKubeconfigs.verify(ctx, trust),
    "cp-1",
    "/etc/kubernetes/admin.conf",
  );
});

Deno.test("update-kubeconfigs: a kubeconfig whose second cluster is stale is work left to do, not done", async () => {
  await using cluster = await distributed();
  const step = stepOf();
  const ctx = cluster.context({ stepId: step.id });
  await updateKubeconfigs.apply(
    ctx,
    step,
    updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step),
  );
  await updateKubeconfigs.verify(ctx, step);

  // An operator added a second cluster entry (another endpoint) with the old CA only.
  const admin = "/etc/kubernetes/admin.conf";
  const document = parseDocument(await cluster.read("cp-2", admin));
  document.addIn(["clusters"], {
    cluster: {
      "certificate-authority-data": btoa(cluster.cas.oldCluster.certPem),
      server: "https://198.18.1.2:6443",
    },
    name: "kubernetes-cp-2",
  });
  await cluster.put("cp-2", admin, document.toString({ indentSeq: false }), 0o600);
  const [first, second] = kubeconfigCaData(await cluster.read("cp-2", admin));
  assert.deepEqual(await fingerprints(second), await fingerprints(cluster.cas.oldCluster.certPem));
  await assertRejectsNaming(updateKubeconfigs.verify(ctx, step), "cp-2", admin);

  const changes = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [`update cp-2:${admin}`]);
  await updateKubeconfigs.apply(ctx, step, changes);
  const held = kubeconfigCaData(await cluster.read("cp-2", admin));
  assert.equal(held.length, 2);
  for (const caData of held) {
    assert.deepEqual(await fingerprints(caData), await fingerprints(first));
  }
  await updateKubeconfigs.verify(ctx, step);
  assert.deepEqual(updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step), []);
});

Deno.test("update-kubeconfigs: a kubeconfig missing where it is not ifPresent is refused, naming the node", async () => {
  await using cluster = await distributed();
  await assertRejectsNaming(
    updateKubeconfigs.observe(cluster.context(), stepOf({ ifPresent: [] })),
    "cp-2",
    "/etc/kubernetes/super-admin.conf",
    "missing",
  );
});

Deno.test("update-kubeconfigs: on workers, only the workers' kubeconfigs change", async () => {
  await using cluster = await distributed();
  const step = stepOf({
    id: "worker-kubeconfigs",
    on: "workers",
    files: ["kubelet.conf"],
    ifPresent: [],
  });
  const ctx = cluster.context({ stepId: step.id });
  const changes = updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [`update worker-1:${KUBELET_CONF}`]);
  const cp1 = await cluster.read("cp-1", KUBELET_CONF);

  await updateKubeconfigs.apply(ctx, step, changes);

  assert.equal(await cluster.read("cp-1", KUBELET_CONF), cp1);
  assert.equal(await cluster.mode("worker-1", KUBELET_CONF), 0o600);
  assert.deepEqual(
    kubeconfigClientCert(await cluster.read("worker-1", KUBELET_CONF)).certFile,
    "/var/lib/kubelet/pki/kubelet-client-current.pem",
  );
  await updateKubeconfigs.verify(ctx, step);
  assert.deepEqual(updateKubeconfigs.diff(await updateKubeconfigs.observe(ctx, step), step), []);
});

Deno.test("update-kubeconfigs: plan rules: ifPresent within files, and workers only where the plan has them", async () => {
  await using cluster = await LocalNodesCluster.create();
  assert.deepEqual(updateKubeconfigs.rules?.(stepOf(), cluster.plan), []);
  assert.deepEqual(
    updateKubeconfigs.rules?.(
      stepOf({ ifPresent: ["super-admin.conf", "kubelet.conf"] }),
      cluster.plan,
    ),
    [{ path: ["ifPresent", 1], message: `"kubelet.conf" is not one of this step's files` }],
  );
  const onWorkers = stepOf({ on: "workers", files: ["kubelet.conf"], ifPresent: [] });
  assert.deepEqual(updateKubeconfigs.rules?.(onWorkers, cluster.plan), []);
  await using noWorkers = await LocalNodesCluster.create({ workers: false });
  assert.deepEqual(updateKubeconfigs.rules?.(onWorkers, noWorkers.plan), [
    { path: ["on"], message: "the plan has no nodes.workers" },
  ]);
});

Deno.test("update-kubeconfigs: the schema holds kubeconfigs to the cluster CA and fills defaults", () => {
  const step = stepOf();
  assert.equal(step.ca, "cluster");
  assert.equal(step.on, "controlPlane");
  assert.equal(updateKubeconfigs.trustSetField, "caData");
  const frontProxy = updateKubeconfigs.schema.safeParse({ ...step, ca: "frontProxy" });
  assert.equal(frontProxy.success, false);
  assert.match(JSON.stringify(frontProxy.error?.issues), /kubeconfigs hold the cluster CA/);
  assert.equal(updateKubeconfigs.schema.safeParse({ ...step, files: [] }).success, false);
});
