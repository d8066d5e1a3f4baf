/**
 * The whole rotation, end to end, on the real control plane: API servers behind haproxy (two; three
 * with CA_ROTATOR_API_SERVERS=3), kwok workers with kubelets (kubelet-client), 20 Deployments and 3 DaemonSets in four
 * namespaces. The plan is plans/local-demo.yaml, advanced trust → switch → finalize as three
 * commits would.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  eventually,
  loadBalancedApiServers,
  startCluster,
  type TestCluster,
} from "../cluster/harness.ts";
import {
  clusterObjects,
  deployTeamWorkloads,
  nodeFiles,
  waitForTeamDeployments,
} from "./fixtures.ts";
import { type Probe, startProbe } from "./probe.ts";
import { AGGREGATED_API, deployAggregatedApi } from "../cluster/aggregated_api.ts";
import {
  adminCredentials,
  type AggregatedProbe,
  startAggregatedProbe,
} from "../cluster/aggregated_probe.ts";
import {
  clientStatuses,
  deployInClusterClients,
  describeClient,
  LEGACY_NAMESPACE,
} from "./in_cluster_clients.ts";
import {
  assertExit,
  assertKubeletsKeptTrust,
  assertOldCaGone,
  caRotator,
  dryRunJson,
  kubeletStatuses,
  servesChainTo,
} from "./end_state.ts";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";

const repo = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "a full CA rotation on load-balanced API servers keeps the cluster working throughout",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: loadBalancedApiServers(), nodes: 3 });
  let probe: Probe | undefined;
  let aggregatedProbe: AggregatedProbe | undefined;
  try {
    await deployTeamWorkloads(cluster);
    await deployInClusterClients(cluster);
    // An aggregated API server (k8s.io/sample-apiserver) behind an APIService: the front-proxy
    // CA's consumer, listed through the load balancer every second for the whole rotation.
    await deployAggregatedApi(cluster);
    // A pod no roll replaces (no owner): it reads the old CA at start and would lose the API at
    // the switch. The pod-trust gate must name it, in the dry run and before the switch.
    await cluster.kubectl([
      "run",
      "debug-shell",
      "-n",
      "team-a",
      "--image=busybox",
      "--restart=Never",
    ]);
    await eventually(
      "team-a/debug-shell running",
      async () =>
        (await cluster.kubectlJson<{ status: { phase?: string } }>(
          ["get", "pod", "debug-shell", "-n", "team-a"],
        )).status.phase === "Running",
    );

    const planDir = await Deno.makeTempDir({ prefix: "ca-rotator-e2e-plan-" });
    const planPath = join(planDir, "local-demo.yaml");
    // The plan leaves the legacy namespace out of its rolls: its client is the negative control.
    const demoPlan = (await Deno.readTextFile(join(repo, "plans/local-demo.yaml")))
      .replace(
        'namespaces: { include: ["*"], exclude: [] }',
        `namespaces: { include: ["*"], exclude: [${LEGACY_NAMESPACE}] }`,
      )
      .replace("exclude: [kube-system] }", `exclude: [kube-system, ${LEGACY_NAMESPACE}] }`);
    assert.match(demoPlan, /exclude: \[legacy\]/);
    assert.match(demoPlan, /exclude: \[kube-system, legacy\]/);
    const acceptDebugShell = (text: string) =>
      text.replaceAll(
        "    kind: verify-pod-trust\n",
        "    kind: verify-pod-trust\n    accept: [{ namespace: team-a, pod: debug-shell }, " +
          `{ namespace: ${LEGACY_NAMESPACE}, owner: "Deployment/legacy-client" }]\n`,
      );
    const writePlan = (stopAfter: string, edit = (text: string) => text) =>
      Deno.writeTextFile(
        planPath,
        edit(demoPlan.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`)),
      );
    const root1 = cluster.nodeRoots[0];
    const oldCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
    const oldFrontProxyCa = await Deno.readTextFile(
      join(root1, "etc/kubernetes/pki/front-proxy-ca.crt"),
    );
    const endpoints = cluster.nodes.map((node) => node.ip);
    const lbHost = new URL(cluster.endpoint).hostname;
    const allRoots = [...cluster.nodeRoots, ...cluster.workerRoots];

    await t.step("a dry run shows every phase's changes and changes nothing", async () => {
      await writePlan("trust");
      const filesBefore = await nodeFiles(allRoots);
      const objectsBefore = await clusterObjects(cluster);
      const { result, document: plan } = await dryRunJson(cluster, planPath);
      const stepIds = plan.steps.map((step) => step.stepId);
      for (
        const id of [
          "distribute-cluster-ca",
          "apiserver-trust-bundle",
          "roll-kubelets-trust-bundle",
          "activate-cluster-ca",
          "reissue-cluster-leaves",
          "cluster-info-new",
          "roll-workloads-switch",
          "apiserver-trust-new",
          "roll-kubelets-trust-new",
          "remove-old-cluster-ca",
        ]
      ) assert.ok(stepIds.includes(id), `the dry run shows step ${id}`);
      assert.ok(plan.summary.files > 20, `files: ${plan.summary.files}`);
      assert.ok(plan.summary.objects >= 2, `objects: ${plan.summary.objects}`);
      assert.ok(plan.summary.restarts >= 9, `restarts: ${plan.summary.restarts}`);
      assert.ok(plan.summary.workloads >= 25, `workloads: ${plan.summary.workloads}`);
      assert.ok(!result.stdout.match(/PRIVATE KEY-----\\n[A-Za-z0-9+/]{20}/), "no key material");
      assert.match(
        result.stderr,
        /\[pod-trust-gate\].*the gate would hold 2 pods .*legacy\/legacy-client-\S+ \(owner Deployment\/legacy-client: the plan's rolls leave it out \(an excluded namespace or kind\)\); team-a\/debug-shell \(owner Pod\/debug-shell: /,
        "the dry run names the pods the gate would hold",
      );
      assert.deepEqual(await clusterObjects(cluster), objectsBefore, "no API object changed");
      const filesAfter = await nodeFiles(allRoots);
      assert.deepEqual([...filesAfter.keys()].sort(), [...filesBefore.keys()].sort());
      for (const [path, content] of filesBefore) {
        assert.equal(filesAfter.get(path), content, `${path} is unchanged`);
      }
    });

    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    aggregatedProbe = startAggregatedProbe({ credentials: adminCredentials(cluster.nodeRoots[0]) });
    const kubeletsBefore = await kubeletStatuses(cluster);

    await t.step("trust: every component trusts both CAs, the old CA still issues", async () => {
      await writePlan("trust");
      assertExit(await caRotator(cluster, ["rotate", "--plan", planPath]), 0, "rotate (trust)");
      for (const ip of endpoints) assert.ok(await servesChainTo(ip, 6443, oldCa), `${ip}: old CA`);
      const flags = manifestFlags(
        await Deno.readTextFile(join(root1, "etc/kubernetes/manifests/kube-apiserver.yaml")),
      );
      assert.equal(flags.get("--client-ca-file"), "/etc/kubernetes/pki/ca-bundle.crt");
    });

    const newCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca-new.crt"));
    const straggler = cluster.workers[0].name;

    await t.step("switch: every API server serves a certificate of the new CA", async () => {
      // One kubelet stops rotating its certificate: it keeps its old-CA certificate.
      const config = join(cluster.rootOf(straggler), "var/lib/kubelet/config.yaml");
      await Deno.writeTextFile(
        config,
        (await Deno.readTextFile(config)).replace(
          /rotateCertificates: true/,
          "rotateCertificates: false",
        ),
      );
      await Deno.writeTextFile(join(cluster.rootOf(straggler), "var/run/kubelet/restart"), "");
      await eventually(
        `${straggler} restarted with rotation off`,
        async () => !(await cluster.kubeletStatus(straggler)).rotateCertificates,
      );
      await writePlan("switch");
      const held = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(held, 3, "rotate (switch, a pod still trusts the old CA only)");
      assert.match(
        held.stderr,
        /\[pod-trust-gate\] gate closed: 2 running pods trust the old CA only .*legacy\/legacy-client-\S+ \(owner Deployment\/legacy-client: the plan's rolls leave it out \(an excluded namespace or kind\)\); team-a\/debug-shell \(owner Pod\/debug-shell: no Deployment, DaemonSet or StatefulSet runs it\)/,
      );
      const legacyBefore = (await clientStatuses(cluster, { ended: false }))
        .find((status) => status.namespace === LEGACY_NAMESPACE)!;
      assert.equal(
        legacyBefore.failures.certificate,
        0,
        "the legacy client works before the switch",
      );
      for (const ip of endpoints) {
        assert.ok(await servesChainTo(ip, 6443, oldCa), `${ip}: still the old CA's chain`);
      }
      // The operator accepts it (a debugging pod), as a reviewed plan change.
      await writePlan("switch", acceptDebugShell);
      const accepted = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(accepted, 0, "rotate (switch)");
      assert.match(
        accepted.stderr,
        /accepted: these pods will lose the API at the switch: legacy\/legacy-client-\S+ .*; team-a\/debug-shell/,
      );
      for (const host of [...endpoints, lbHost]) {
        assert.ok(await servesChainTo(host, 6443, newCa), `${host} serves the new CA's chain`);
      }
    });

    await t.step(
      "the gate refuses to remove the old CA while a kubelet holds an old-CA certificate",
      async () => {
        await writePlan(
          "finalize",
          (text) =>
            text.replace(/forceRotation: true/, "forceRotation: false").replace(
              /wait: \S+/,
              "wait: 5s",
            ),
        );
        const result = await caRotator(cluster, ["rotate", "--plan", planPath]);
        assertExit(result, 3, "rotate (finalize, gate closed)");
        assert.match(result.stderr, new RegExp(`gate closed: .*${straggler}`));
        const flags = manifestFlags(
          await Deno.readTextFile(join(root1, "etc/kubernetes/manifests/kube-apiserver.yaml")),
        );
        assert.equal(
          flags.get("--client-ca-file"),
          "/etc/kubernetes/pki/ca-bundle.crt",
          "old CA kept",
        );
        const status = await cluster.kubeletStatus(straggler);
        assert.equal(status.consecutiveFailures, 0, `${straggler} still reaches the API`);
      },
    );

    await t.step("finalize: the old CA is gone everywhere", async () => {
      await writePlan("finalize");
      const held = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(held, 3, "rotate (finalize, a pod older than the new CA is still running)");
      assert.match(
        held.stderr,
        /\[pod-trust-final\] gate closed: 2 running pods .*legacy\/legacy-client-.*team-a\/debug-shell/,
      );
      await writePlan("finalize", acceptDebugShell);
      assertExit(await caRotator(cluster, ["rotate", "--plan", planPath]), 0, "rotate (finalize)");
      await assertOldCaGone(cluster, { oldCa, oldFrontProxyCa, newCa });
      for (const kind of ["deployments", "daemonsets"]) {
        const list = await cluster.kubectlJson<
          {
            items: {
              metadata: { name: string; namespace: string };
              spec: { template: { metadata: { annotations?: Record<string, string> } } };
            }[];
          }
        >(["get", kind, "-A"]);
        for (const item of list.items) {
          const rolledBy = item.spec.template.metadata.annotations?.["ca-rotator.dev/rolled-by"];
          if (item.metadata.namespace === LEGACY_NAMESPACE) {
            assert.equal(rolledBy, undefined, "the excluded namespace is never rolled");
            continue;
          }
          assert.equal(
            rolledBy,
            "roll-workloads-finalize",
            `${kind} ${item.metadata.namespace}/${item.metadata.name} rolled in finalize`,
          );
        }
      }
      await waitForTeamDeployments(cluster, 120);
    });

    const counts = await probe.stop();
    probe = undefined;
    const aggregatedCounts = await aggregatedProbe!.stop();
    aggregatedProbe = undefined;

    await t.step("no request failed for want of trust during the rotation", async () => {
      console.log(`probe through haproxy: ${JSON.stringify(counts)}`);
      assert.ok(counts.requests > 100, `the probe ran (${counts.requests} requests)`);
      assert.equal(counts.tlsFailures, 0, `TLS failures (last: ${counts.lastFailure})`);
      assert.equal(counts.unauthorized, 0, `401s (last: ${counts.lastFailure})`);
      assert.equal(counts.notReadyNodes, 0, "every node Ready throughout");
      assertKubeletsKeptTrust(kubeletsBefore, await kubeletStatuses(cluster));
    });

    await t.step("the aggregated API kept authenticating the front proxy", async () => {
      console.log(`aggregated-API probe through haproxy: ${JSON.stringify(aggregatedCounts)}`);
      assert.ok(aggregatedCounts.ok > 100, `the probe ran (${aggregatedCounts.ok} lists answered)`);
      for (const kind of ["unauthorized", "tls"] as const) {
        assert.equal(
          aggregatedCounts.failures[kind],
          0,
          `${kind} (last: ${aggregatedCounts.lastError[kind]?.message})`,
        );
      }
      // sample-apiserver answers one request as anonymous (403) right after it starts, rotation
      // or not (test/cluster/README.md: the test cluster has no readiness gate in front of it);
      // the rolls start it again three times. More 403s than starts would be the front proxy
      // refused.
      const starts = await aggregatedServerStarts(cluster);
      console.log(`aggregated API server: ${starts} starts during the rotation`);
      assert.ok(
        aggregatedCounts.failures.forbidden <= starts,
        `403s (${aggregatedCounts.failures.forbidden}) beyond the ${starts} server starts (last: ${aggregatedCounts.lastError.forbidden?.message})`,
      );
    });

    await t.step(
      "in-cluster clients: none of the rolled ones lost the API; the excluded one did",
      async () => {
        const statuses = await clientStatuses(cluster);
        for (const status of statuses) console.log(`in-cluster client ${describeClient(status)}`);
        const rolled = statuses.filter((status) => status.namespace !== LEGACY_NAMESPACE);
        assert.ok(
          rolled.length >= 14,
          `clients of every rolled pod (${rolled.length}): three rolls`,
        );
        for (const status of rolled) {
          assert.equal(
            status.failures.certificate,
            0,
            `${status.namespace}/${status.pod}: certificate failures (last: ${status.lastError.certificate?.message})`,
          );
          assert.equal(
            status.failures.unauthorized,
            0,
            `${status.namespace}/${status.pod}: 401s (last: ${status.lastError.unauthorized?.message})`,
          );
        }
        const requests = rolled.reduce((sum, status) => sum + status.requests, 0);
        assert.ok(requests > 500, `the rolled clients kept working (${requests} requests)`);
        const legacy = statuses.filter((status) => status.namespace === LEGACY_NAMESPACE);
        assert.equal(legacy.length, 1, "the excluded client was never rolled");
        assert.ok(
          legacy[0].failures.certificate > 0,
          "the excluded client lost the API at the switch",
        );
        assert.match(legacy[0].lastError.certificate.message, /x509|certificate/);
      },
    );

    await t.step("rotating again changes nothing", async () => {
      const again = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(again, 0, "rotate (again)");
      assert.match(again.stderr, /No changes\./);
      const dry = await caRotator(cluster, ["rotate", "--plan", planPath, "--dry-run"]);
      assertExit(dry, 0, "rotate --dry-run (again)");
      assert.match(dry.stdout, /^No changes\.$/m);
    });
  } finally {
    await probe?.stop();
    await aggregatedProbe?.stop();
    await cluster.stop();
  }
});

/** How many times a new sample-apiserver pod started after the first: the pods rolls replaced. */
async function aggregatedServerStarts(cluster: TestCluster): Promise<number> {
  const stateDir = cluster.env.CLUSTER_STATE_DIR;
  let pods = 0;
  for (const dir of ["pods", "pods-ended"]) {
    for await (const entry of Deno.readDir(join(stateDir, dir))) {
      if (entry.name.startsWith(`${AGGREGATED_API.namespace}_`)) pods++;
    }
  }
  return pods - 1;
}
