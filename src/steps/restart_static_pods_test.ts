// restart-static-pods restarts the static pods the plan lists in staticPods.restart by marking
// their manifests, one at a time, each back before the next: by its HTTP probe, else by its
// mirror pod. A pod that comes back needs a kubelet: the rotation test against the real control
// plane (test/rotation/static_pods_test.ts) covers that. Here apply runs in a dry run (the
// overlay) and on the real nodes up to the first wait, where nothing answers.
import assert from "node:assert/strict";
import { manifestAnnotation } from "../formats/static_pod_manifest.ts";
import type { StaticPodTarget } from "../engine/step.ts";
import { mirrorPodRestarted, restartStaticPods } from "./restart_static_pods.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { assertRejectsNaming, changeOf, describe } from "./_test_assertions.ts";
import { LocalNodesCluster, recording } from "./_test_cluster.ts";
import { MANIFESTS } from "./_test_kubeadm_files.ts";
import { staticPodManifest } from "./_test_static_pods.ts";

const KUBE_VIP = `${MANIFESTS}/kube-vip.yaml`;
const PROBE = `    livenessProbe:
      httpGet: { host: 127.0.0.1, port: 8099, path: /readyz }
`;

const step = restartStaticPods.schema.parse({
  id: "restart-static-pods-trust",
  phase: "trust",
  kind: "restart-static-pods",
});

/** Two control-plane nodes with kube-vip (cp-1 probed over HTTP, cp-2 without a probe). */
async function withKubeVip(): Promise<{ cluster: LocalNodesCluster; pods: StaticPodTarget[] }> {
  const cluster = await LocalNodesCluster.create();
  await cluster.put(
    "cp-1",
    KUBE_VIP,
    staticPodManifest("kube-vip", ["/etc/kubernetes/admin.conf"], PROBE),
  );
  await cluster.put(
    "cp-2",
    KUBE_VIP,
    staticPodManifest("kube-vip", ["/etc/kubernetes/admin.conf"]),
  );
  const pods = ["cp-1", "cp-2"].map((node) => ({
    node,
    name: "kube-vip",
    namespace: "kube-system",
    manifest: KUBE_VIP,
  }));
  return { cluster, pods };
}

Deno.test("restart-static-pods: marks each listed pod's manifest with the step id, then restarts it; nothing when none is listed", async () => {
  const { cluster, pods } = await withKubeVip();
  await using _ = cluster;
  const ctx = { ...cluster.context({ stepId: step.id }), staticPods: pods };
  const before = await cluster.snapshot();
  const changes = restartStaticPods.diff(await restartStaticPods.observe(ctx, step), step);
  assert.deepEqual(await cluster.snapshot(), before, "observe never writes");
  assert.deepEqual(describe(changes), [
    `update cp-1:${KUBE_VIP}`,
    "restart cp-1/kube-vip",
    `update cp-2:${KUBE_VIP}`,
    "restart cp-2/kube-vip",
  ]);
  const change = changeOf(changes, "cp-2", KUBE_VIP);
  assert.equal(manifestAnnotation(change.before!, RESTARTED_BY), undefined);
  assert.equal(manifestAnnotation(change.after!, RESTARTED_BY), step.id);

  const none = { ...cluster.context({ stepId: step.id }), staticPods: [] };
  assert.deepEqual(restartStaticPods.diff(await restartStaticPods.observe(none, step), step), []);
});

Deno.test("restart-static-pods: a dry run restarts one pod at a time, by its probe or its mirror pod; then the step is done", async () => {
  const { cluster, pods } = await withKubeVip();
  await using _ = cluster;
  const events: string[] = [];
  const overlays = cluster.dryRun().controlPlane;
  const ctx = {
    ...cluster.context({
      stepId: step.id,
      dryRun: true,
      controlPlane: recording(overlays, events),
      events,
    }),
    staticPods: pods,
  };
  const before = await cluster.snapshot();
  await restartStaticPods.apply(
    ctx,
    step,
    restartStaticPods.diff(await restartStaticPods.observe(ctx, step), step),
  );
  assert.deepEqual(events, [
    `write cp-1:${KUBE_VIP}`,
    "wait cp-1/kube-vip to be healthy (http://127.0.0.1:8099/readyz)",
    `write cp-2:${KUBE_VIP}`,
    "wait mirror pod kube-system/kube-vip-cp-2 to run the restarted manifest and be Ready",
  ]);
  assert.deepEqual(await cluster.snapshot(), before, "a dry run writes nothing");
  assert.deepEqual(
    restartStaticPods.diff(await restartStaticPods.observe(ctx, step), step),
    [],
    "a resumed run does not restart a pod again",
  );
});

Deno.test("restart-static-pods: apply marks the first pod and stops there while it is not back; a resumed run waits for it first", async () => {
  const { cluster, pods } = await withKubeVip();
  await using _ = cluster;
  const ctx = { ...cluster.context({ stepId: step.id }), staticPods: pods };
  const original = await cluster.read("cp-2", KUBE_VIP);
  await assertRejectsNaming(
    restartStaticPods.apply(
      ctx,
      step,
      restartStaticPods.diff(await restartStaticPods.observe(ctx, step), step),
    ),
    "cp-1/kube-vip",
    "http://127.0.0.1:8099/readyz",
  );
  assert.equal(manifestAnnotation(await cluster.read("cp-1", KUBE_VIP), RESTARTED_BY), step.id);
  assert.equal((await cluster.backups("cp-1", KUBE_VIP)).length, 1);
  assert.equal(await cluster.read("cp-2", KUBE_VIP), original, "cp-2 is not touched");

  // Resumed: only cp-2 is left, and cp-1's pod is waited for before cp-2's goes down.
  await assertRejectsNaming(
    restartStaticPods.apply(
      ctx,
      step,
      restartStaticPods.diff(await restartStaticPods.observe(ctx, step), step),
    ),
    "cp-1/kube-vip",
  );
  assert.equal(await cluster.read("cp-2", KUBE_VIP), original, "cp-2 is still not touched");
});

Deno.test("mirrorPodRestarted: the mirror pod carries the step's mark, runs and is Ready", () => {
  const pod = (mark: string | undefined, phase: string, ready: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "kube-vip-cp-1",
      annotations: mark ? { [RESTARTED_BY]: mark } as Record<string, string> : {},
    },
    status: { phase, conditions: [{ type: "Ready", status: ready }] },
  });
  assert.equal(mirrorPodRestarted(pod("s", "Running", "True"), "s"), true);
  assert.equal(mirrorPodRestarted(pod("earlier", "Running", "True"), "s"), false);
  assert.equal(mirrorPodRestarted(pod(undefined, "Running", "True"), "s"), false);
  assert.equal(mirrorPodRestarted(pod("s", "Pending", "False"), "s"), false);
  assert.equal(mirrorPodRestarted(pod("s", "Running", "False"), "s"), false);
  assert.equal(mirrorPodRestarted(undefined, "s"), false);
});
