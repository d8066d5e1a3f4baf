import assert from "node:assert/strict";
import {
  restartTargets,
  staticPodGate,
  staticPodLines,
  staticPodMessage,
  unlistedStaticPods,
} from "./static_pod_coverage.ts";
import type { StaticPodConsumer } from "../steps/static_pod_consumers.ts";
import { LocalNodesCluster } from "../steps/_test_cluster.ts";
import { staticPodManifest } from "../steps/_test_static_pods.ts";

const pod = (node: string, name: string, mounts: string[]): StaticPodConsumer => ({
  node,
  name,
  namespace: "kube-system",
  manifest: `/etc/kubernetes/manifests/${name}.yaml`,
  mounts,
});

const FOUND = [
  pod("cp-1", "kube-vip", ["/etc/kubernetes/admin.conf"]),
  pod("cp-2", "kube-vip", ["/etc/kubernetes/admin.conf"]),
  pod("worker-1", "konnectivity-agent", ["/etc/kubernetes/pki"]),
  pod("cp-1", "log-shipper", ["/etc/kubernetes"]),
];

const PLAN = {
  restart: ["kube-vip", "gone"],
  accept: [{ name: "konnectivity-agent", reason: "reads only its own token" }],
};

Deno.test("unlistedStaticPods: the pods neither restarted nor accepted; none when the plan lists each", () => {
  assert.deepEqual(unlistedStaticPods(FOUND, PLAN), [FOUND[3]]);
  assert.deepEqual(
    unlistedStaticPods(FOUND, { ...PLAN, restart: [...PLAN.restart, "log-shipper"] }),
    [],
  );
  assert.deepEqual(unlistedStaticPods(FOUND, { restart: [], accept: [] }), FOUND);
});

Deno.test("staticPodMessage names each unlisted pod, its node, manifest and mounts, and the fix", () => {
  assert.equal(
    staticPodMessage([FOUND[3]]),
    "a static pod the plan does not list mounts kubeconfigs or the PKI directory: log-shipper on " +
      "cp-1 (/etc/kubernetes/manifests/log-shipper.yaml; mounts /etc/kubernetes) — add it to " +
      "staticPods.restart (restarted by the plan's restart-static-pods steps after the files " +
      "change) or to staticPods.accept with the reason (it reads those files at start: left " +
      "running, it keeps trusting the old CA only and is cut off at the switch)",
  );
  assert.match(
    staticPodMessage(FOUND.slice(0, 2)),
    /^static pods the plan does not list mount .*: kube-vip on cp-1 .*; kube-vip on cp-2 .* add each/,
  );
});

Deno.test("staticPodLines: each pod with what the plan does with it, and a listed pod found nowhere", () => {
  assert.deepEqual(staticPodLines(FOUND, PLAN), [
    "static pod kube-vip on cp-1 (/etc/kubernetes/manifests/kube-vip.yaml; mounts " +
    "/etc/kubernetes/admin.conf): restarted by the plan (staticPods.restart)",
    "static pod kube-vip on cp-2 (/etc/kubernetes/manifests/kube-vip.yaml; mounts " +
    "/etc/kubernetes/admin.conf): restarted by the plan (staticPods.restart)",
    "static pod konnectivity-agent on worker-1 (/etc/kubernetes/manifests/konnectivity-agent.yaml; " +
    "mounts /etc/kubernetes/pki): accepted (staticPods.accept: reads only its own token)",
    "static pod log-shipper on cp-1 (/etc/kubernetes/manifests/log-shipper.yaml; mounts " +
    "/etc/kubernetes): NOT LISTED: the run refuses to change anything until the plan restarts or " +
    "accepts it",
    "static pod gone (staticPods.restart) was found on no node mounting kubeconfigs or the PKI " +
    "directory: nothing to restart",
  ]);
});

Deno.test("restartTargets: the restarted pods where they were found, nothing else", () => {
  assert.deepEqual(restartTargets(FOUND, PLAN), [
    {
      node: "cp-1",
      name: "kube-vip",
      namespace: "kube-system",
      manifest: "/etc/kubernetes/manifests/kube-vip.yaml",
    },
    {
      node: "cp-2",
      name: "kube-vip",
      namespace: "kube-system",
      manifest: "/etc/kubernetes/manifests/kube-vip.yaml",
    },
  ]);
});

Deno.test("staticPodGate: holds before a later phase while a node has a static pod the plan does not list", async () => {
  await using cluster = await LocalNodesCluster.create();
  const plan = { layout: cluster.layout, staticPods: { restart: [], accept: [] } };
  const gate = staticPodGate(() => cluster.nodes, plan);
  assert.equal(await gate("switch"), undefined, "only the control-plane components: nothing held");

  // One appears on a worker mid-run (a konnectivity agent mounting the PKI directory).
  await cluster.put(
    "worker-1",
    "/etc/kubernetes/manifests/konnectivity.yaml",
    staticPodManifest("konnectivity-agent", ["/etc/kubernetes/pki"]),
  );
  assert.match(
    (await gate("switch")) ?? "",
    /^holding before phase "switch": a static pod the plan does not list mounts kubeconfigs or the PKI directory: konnectivity-agent on worker-1 \(\/etc\/kubernetes\/manifests\/konnectivity\.yaml; mounts \/etc\/kubernetes\/pki\) — .*; then run again$/,
  );
  const accepted = staticPodGate(() => cluster.nodes, {
    ...plan,
    staticPods: { restart: [], accept: [{ name: "konnectivity-agent", reason: "its own token" }] },
  });
  assert.equal(await accepted("switch"), undefined, "accepted: nothing held");
});
