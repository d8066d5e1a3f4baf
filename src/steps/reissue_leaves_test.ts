import assert from "node:assert/strict";
import { hasChanges, targetName } from "../engine/change.ts";
import { renderChanges } from "../diff/mod.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import {
  keyMatchesCertificate,
  parseCertificate,
  parsePrivateKey,
  subjectAltNames,
  verifyChain,
  x509,
} from "../pki/mod.ts";
import { activateCa } from "./activate_ca.ts";
import { distributeCa } from "./distribute_ca.ts";
import { reissueLeaves } from "./reissue_leaves.ts";
import { manifestAnnotation } from "../formats/static_pod_manifest.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import {
  assertNoKeyMaterial,
  assertRejectsNaming,
  changeOf,
  describe,
} from "./_test_assertions.ts";
import { LocalNodesCluster, recording } from "./_test_cluster.ts";
import { KUBELET_CONF, MANIFESTS, PKI } from "./_test_kubeadm_files.ts";

type CaName = "cluster" | "frontProxy";

const DAY_MS = 86_400_000;

/** The plan's reissue-cluster-leaves step (plans/kubeadm.yaml). */
const clusterStep = (fields: Record<string, unknown> = {}) =>
  reissueLeaves.schema.parse({
    id: "reissue-cluster-leaves",
    phase: "switch",
    kind: "reissue-leaves",
    ca: "cluster",
    certs: ["apiserver", "apiserver-kubelet-client"],
    kubeconfigs: ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"],
    ifPresent: ["super-admin.conf"],
    ...fields,
  });

/** The plan's reissue-front-proxy-leaves step. */
const frontProxyStep = () =>
  reissueLeaves.schema.parse({
    id: "reissue-front-proxy-leaves",
    phase: "switch",
    kind: "reissue-leaves",
    ca: "frontProxy",
    certs: ["front-proxy-client"],
  });

/** A cluster in the switch phase: `ca` distributed and activated, as the plan requires. */
async function activated(ca: CaName = "cluster"): Promise<LocalNodesCluster> {
  const cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
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
  return cluster;
}

/** Fails unless `after` is `before` re-issued by `ca`: same subject, SANs, usages and key. */
async function assertReissued(
  before: x509.X509Certificate,
  after: x509.X509Certificate,
  ca: { newCa: x509.X509Certificate; oldCa: x509.X509Certificate },
  keyPem: string,
  what: string,
): Promise<void> {
  assert.equal((await verifyChain(after, { roots: [ca.newCa] })).ok, true, `${what}: new CA`);
  assert.equal((await verifyChain(after, { roots: [ca.oldCa] })).ok, false, `${what}: not old CA`);
  assert.equal(after.subject, before.subject, `${what}: subject`);
  assert.deepEqual(subjectAltNames(after), subjectAltNames(before), `${what}: SANs`);
  assert.deepEqual(
    after.getExtension(x509.KeyUsagesExtension)?.usages,
    before.getExtension(x509.KeyUsagesExtension)?.usages,
    `${what}: key usages`,
  );
  assert.deepEqual(
    after.getExtension(x509.ExtendedKeyUsageExtension)?.usages,
    before.getExtension(x509.ExtendedKeyUsageExtension)?.usages,
    `${what}: extended key usages`,
  );
  assert.equal(after.getExtension(x509.BasicConstraintsExtension)?.ca, false, `${what}: a leaf`);
  const { privateKey } = await parsePrivateKey(keyPem);
  assert.ok(await keyMatchesCertificate(privateKey, after), `${what}: the key is kept`);
  assert.notEqual(after.serialNumber, before.serialNumber, `${what}: a new serial`);
}

Deno.test("reissue-leaves: each leaf and kubeconfig client certificate is to be re-issued by the new CA, keeping subject, SANs, usages and key", async () => {
  await using cluster = await activated();
  const step = clusterStep();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");

  assert.deepEqual(describe(changes), [
    `update cp-1:${PKI}/apiserver.crt`,
    `update cp-1:${PKI}/apiserver-kubelet-client.crt`,
    "update cp-1:/etc/kubernetes/admin.conf",
    "update cp-1:/etc/kubernetes/super-admin.conf",
    "update cp-1:/etc/kubernetes/controller-manager.conf",
    "update cp-1:/etc/kubernetes/scheduler.conf",
    `update cp-2:${PKI}/apiserver.crt`,
    `update cp-2:${PKI}/apiserver-kubelet-client.crt`,
    "update cp-2:/etc/kubernetes/admin.conf",
    "update cp-2:/etc/kubernetes/controller-manager.conf",
    "update cp-2:/etc/kubernetes/scheduler.conf",
  ]);
  const cas = { newCa: cluster.cas.newCluster.cert, oldCa: cluster.cas.oldCluster.cert };
  const rendered = renderChanges(changes, { color: false, stepId: step.id });
  for (const change of changes) {
    const name = targetName(change.target);
    assert.ok(change.target.type === "file");
    const { node, path } = change.target;
    if (path.endsWith(".crt")) {
      const keyPem = await cluster.read(node, path.replace(/\.crt$/, ".key"));
      const was = parseCertificate(change.before!);
      const now = parseCertificate(change.after!);
      await assertReissued(was, now, cas, keyPem, name);
      const lifetime = (now.notAfter.getTime() - now.notBefore.getTime()) / DAY_MS;
      assert.ok(Math.abs(lifetime - 365) < 1, `${name}: the replaced certificate's lifetime`);
      continue;
    }
    assert.equal(change.target.mode, 0o600, `${name}: a kubeconfig stays 0600`);
    const was = kubeconfigClientCert(change.before!);
    const now = kubeconfigClientCert(change.after!);
    assert.equal(now.keyPem, was.keyPem, `${name}: client-key-data is kept`);
    await assertReissued(
      parseCertificate(was.certPem!),
      parseCertificate(now.certPem!),
      cas,
      was.keyPem!,
      name,
    );
    assert.deepEqual(kubeconfigCaData(change.after!), kubeconfigCaData(change.before!));
    assertNoKeyMaterial(rendered, was.keyPem!);
  }
  assert.ok(!describe(changes).some((line) => line.endsWith(".key")), "no key file is touched");
});

Deno.test("reissue-leaves: apply writes exactly its diff; nothing is left, verify passes, and fails naming a leaf still by the old CA", async () => {
  await using cluster = await activated();
  const step = clusterStep();
  const ctx = cluster.context({ stepId: step.id });
  await assertRejectsNaming(reissueLeaves.verify(ctx, step), "cp-1", `${PKI}/apiserver.crt`);
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  const before = await cluster.snapshot();

  await reissueLeaves.apply(ctx, step, changes);

  const after = await cluster.snapshot();
  const changed = [...after.keys()].filter((file) => after.get(file) !== before.get(file));
  assert.deepEqual(changed.sort(), changes.map((change) => targetName(change.target)).sort());
  assert.equal(await cluster.mode("cp-2", `${PKI}/apiserver.crt`), 0o644);
  assert.equal(await cluster.mode("cp-2", `${PKI}/apiserver.key`), 0o600);
  assert.equal(await cluster.mode("cp-2", "/etc/kubernetes/admin.conf"), 0o600);
  const again = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(again, [], "a leaf the new CA issued is left alone");
  assert.equal(hasChanges(again), false);
  await reissueLeaves.verify(ctx, step);

  await cluster.put(
    "cp-2",
    `${PKI}/apiserver-kubelet-client.crt`,
    before.get(`cp-2:${PKI}/apiserver-kubelet-client.crt`)!,
  );
  await assertRejectsNaming(
    reissueLeaves.verify(ctx, step),
    "cp-2",
    `${PKI}/apiserver-kubelet-client.crt`,
  );
});

Deno.test("reissue-leaves: verify fails naming a kubeconfig whose client certificate is still by the old CA; an ifPresent one may be absent, another may not", async () => {
  await using cluster = await activated();
  const step = clusterStep();
  const ctx = cluster.context({ stepId: step.id });
  const before = await cluster.snapshot();
  await reissueLeaves.apply(
    ctx,
    step,
    reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step),
  );
  await reissueLeaves.verify(ctx, step);

  // cp-2's admin.conf restored from before the step: its client certificate is old-CA.
  const admin = "/etc/kubernetes/admin.conf";
  await cluster.put("cp-2", admin, before.get(`cp-2:${admin}`)!, 0o600);
  await assertRejectsNaming(reissueLeaves.verify(ctx, step), "cp-2", admin, "new CA");
  // Only the kubeconfigs are checked here: the leaves alone pass.
  await reissueLeaves.verify(ctx, clusterStep({ kubeconfigs: [], ifPresent: [] }));
  await reissueLeaves.apply(
    ctx,
    step,
    reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step),
  );
  await reissueLeaves.verify(ctx, step);

  // super-admin.conf is on cp-1 only (ifPresent); scheduler.conf must be on every node.
  assert.equal(await cluster.node("cp-2").readFile("/etc/kubernetes/super-admin.conf"), undefined);
  await Deno.remove(cluster.node("cp-2").hostPath("/etc/kubernetes/scheduler.conf"));
  await assertRejectsNaming(
    reissueLeaves.verify(ctx, step),
    "cp-2",
    "/etc/kubernetes/scheduler.conf",
    "missing",
  );
});

Deno.test("reissue-leaves: a run interrupted after the first node re-issues only what is left", async () => {
  await using cluster = await activated();
  const step = clusterStep();
  const ctx = cluster.context({ stepId: step.id });
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  await reissueLeaves.apply(
    ctx,
    step,
    changes.filter((change) => change.target.type === "file" && change.target.node === "cp-1"),
  );
  const written = await cluster.read("cp-1", `${PKI}/apiserver.crt`);

  const left = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(describe(left), describe(changes).filter((line) => line.includes("cp-2:")));
  await reissueLeaves.apply(ctx, step, left);
  assert.equal(await cluster.read("cp-1", `${PKI}/apiserver.crt`), written, "not re-issued twice");
  await reissueLeaves.verify(ctx, step);
});

Deno.test("reissue-leaves: the front-proxy client certificate is re-issued by the new front-proxy CA", async () => {
  await using cluster = await activated("frontProxy");
  const step = frontProxyStep();
  const ctx = cluster.context({ stepId: step.id });
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(describe(changes), [
    `update cp-1:${PKI}/front-proxy-client.crt`,
    `update cp-2:${PKI}/front-proxy-client.crt`,
  ]);
  await assertReissued(
    parseCertificate(changes[1].before!),
    parseCertificate(changes[1].after!),
    { newCa: cluster.cas.newFrontProxy.cert, oldCa: cluster.cas.oldFrontProxy.cert },
    await cluster.read("cp-2", `${PKI}/front-proxy-client.key`),
    "cp-2 front-proxy-client",
  );
  await assertRejectsNaming(
    reissueLeaves.verify(ctx, step),
    "cp-1",
    `${PKI}/front-proxy-client.crt`,
  );
  await reissueLeaves.apply(ctx, step, changes);
  await reissueLeaves.verify(ctx, step);
  assert.deepEqual(reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step), []);
});

Deno.test("reissue-leaves: validityDays sets the new leaves' lifetime", async () => {
  await using cluster = await activated();
  const step = clusterStep({
    certs: ["apiserver"],
    kubeconfigs: [],
    ifPresent: [],
    validityDays: 30,
  });
  const changes = reissueLeaves.diff(await reissueLeaves.observe(cluster.context(), step), step);
  assert.equal(changes.length, 2);
  for (const change of changes) {
    const cert = parseCertificate(change.after!);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY_MS;
    assert.ok(Math.abs(days - 30) < 1, `${targetName(change.target)}: ${days} days`);
  }
});

Deno.test("reissue-leaves: observe refuses a leaf without its key and a kubeconfig without inline credentials; ifPresent skips", async () => {
  await using cluster = await activated();
  const ctx = cluster.context();
  await Deno.remove(cluster.node("cp-2").hostPath(`${PKI}/apiserver-kubelet-client.key`));
  await assertRejectsNaming(
    reissueLeaves.observe(ctx, clusterStep()),
    "cp-2",
    `${PKI}/apiserver-kubelet-client.key`,
    "missing",
  );
  const skipping = clusterStep({ ifPresent: ["super-admin.conf", "apiserver-kubelet-client"] });
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, skipping), skipping);
  assert.deepEqual(describe(changes).filter((line) => line.includes("cp-2:")), [
    `update cp-2:${PKI}/apiserver.crt`,
    "update cp-2:/etc/kubernetes/admin.conf",
    "update cp-2:/etc/kubernetes/controller-manager.conf",
    "update cp-2:/etc/kubernetes/scheduler.conf",
  ]);
  assert.ok(describe(changes).includes(`update cp-1:${PKI}/apiserver-kubelet-client.crt`));
  await assertRejectsNaming(
    reissueLeaves.observe(
      ctx,
      clusterStep({ certs: [], kubeconfigs: [KUBELET_CONF], ifPresent: [] }),
    ),
    "cp-1",
    KUBELET_CONF,
    "no inline client certificate",
  );
});

Deno.test("reissue-leaves: plan rules: something to re-issue, ifPresent within it, kubeconfigs by the cluster CA only", async () => {
  await using cluster = await LocalNodesCluster.create();
  assert.deepEqual(reissueLeaves.rules?.(clusterStep(), cluster.plan), []);
  assert.deepEqual(reissueLeaves.rules?.(frontProxyStep(), cluster.plan), []);
  assert.deepEqual(
    reissueLeaves.rules?.(
      clusterStep({ ifPresent: ["super-admin.conf", "kubelet.conf"] }),
      cluster.plan,
    ),
    [{
      path: ["ifPresent", 1],
      message: `"kubelet.conf" is not one of this step's certs/kubeconfigs`,
    }],
  );
  assert.deepEqual(
    reissueLeaves.rules?.(clusterStep({ certs: [], kubeconfigs: [], ifPresent: [] }), cluster.plan),
    [{ path: [], message: "must re-issue at least one of certs, kubeconfigs" }],
  );
  assert.deepEqual(
    reissueLeaves.rules?.(
      reissueLeaves.schema.parse({ ...frontProxyStep(), kubeconfigs: ["admin.conf"] }),
      cluster.plan,
    ),
    [{
      path: ["kubeconfigs"],
      message: "kubeconfig client certificates are issued by the cluster CA, not frontProxy",
    }],
  );
});

Deno.test("reissue-leaves: the plan format puts it in switch, after an activate-ca of the same CA", () => {
  assert.deepEqual(reissueLeaves.phases, ["switch"]);
  assert.deepEqual(reissueLeaves.needsEarlier, ["activate-ca"]);
  const step = reissueLeaves.schema.parse({
    id: "r",
    phase: "switch",
    kind: "reissue-leaves",
    ca: "cluster",
  });
  assert.deepEqual([step.certs, step.kubeconfigs, step.ifPresent, step.validityDays], [
    [],
    [],
    [],
    undefined,
  ]);
});

Deno.test("reissue-leaves with restart: one node at a time, its API server restarted and its files put in place while it is down", async () => {
  await using cluster = await activated();
  const step = clusterStep({ restart: "kube-apiserver" });
  const apiserver = `${MANIFESTS}/kube-apiserver.yaml`;
  const events: string[] = [];
  const overlays = cluster.dryRun().controlPlane;
  const ctx = cluster.context({
    stepId: step.id,
    dryRun: true,
    controlPlane: recording(overlays, events),
    events,
  });
  const changes = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(describe(changes).filter((line) => !line.includes(".conf")), [
    `update cp-1:${apiserver}`,
    "restart cp-1/kube-apiserver",
    `update cp-1:${PKI}/apiserver.crt`,
    `update cp-1:${PKI}/apiserver-kubelet-client.crt`,
    `update cp-2:${apiserver}`,
    "restart cp-2/kube-apiserver",
    `update cp-2:${PKI}/apiserver.crt`,
    `update cp-2:${PKI}/apiserver-kubelet-client.crt`,
  ]);
  const marked = changeOf(changes, "cp-1", apiserver);
  assert.equal(manifestAnnotation(marked.after!, RESTARTED_BY), step.id);

  await reissueLeaves.apply(ctx, step, changes);
  const order = events.filter((line) =>
    line.includes("kube-apiserver") || line.includes("apiserver-kubelet-client")
  );
  assert.deepEqual(order, [
    `write cp-1:${apiserver}`,
    `write cp-1:${PKI}/apiserver-kubelet-client.crt`,
    "wait cp-1/kube-apiserver to be healthy (https://198.18.1.1:6443/readyz)",
    `write cp-2:${apiserver}`,
    `write cp-2:${PKI}/apiserver-kubelet-client.crt`,
    "wait cp-2/kube-apiserver to be healthy (https://198.18.1.2:6443/readyz)",
  ]);
  assert.deepEqual(
    reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step),
    [],
    "a resumed run finds every node done",
  );

  // A run killed after cp-2's restart began, before its files went in place: restarted again.
  const cp2 = overlays.find((node) => node.name === "cp-2")!;
  const kubeletClient = `${PKI}/apiserver-kubelet-client.crt`;
  await cp2.writeFile(kubeletClient, changeOf(changes, "cp-2", kubeletClient).before!);
  const again = reissueLeaves.diff(await reissueLeaves.observe(ctx, step), step);
  assert.deepEqual(describe(again), [
    `update cp-2:${apiserver}`,
    "restart cp-2/kube-apiserver",
    `update cp-2:${kubeletClient}`,
  ]);
  assert.equal(manifestAnnotation(again[0].after!, RESTARTED_BY), `${step.id}+`);
});
