/**
 * Joins at every moment (issue 19), on the real control plane (one API server, one worker) with
 * kubeadm's own discovery code: a join pinned to the `--discovery-token-ca-cert-hash` that
 * `status` prints passes discovery before the rotation, after trust (either CA's hash), all
 * through the switch (while the API server restarts onto its new-CA certificate) and after it,
 * and after finalize (the new CA's hash). Negative control: after finalize, the pre-rotation hash
 * fails ("none of the public keys … are pinned"). Each cluster-info update waits for the
 * bootstrap signer's signature of the test token, which kubeadm's discovery checks too.
 *
 * Static pods on the same cluster (issue 19): the control-plane node runs kube-vip, a static pod
 * that mounts admin.conf (kubectl proxy with it; kube_vip_pods.ts), which the plan restarts
 * (staticPods.restart), and stale-vip, the same pod the plan accepts: the negative control of the
 * restarts (it keeps the admin.conf it read and loses the API at the switch). Unlisted, they
 * refuse the dry run and the switch (exit 2, node files and API objects unchanged).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertExit, caRotator } from "./end_state.ts";
import { createBootstrapToken, discover, type Discovery } from "./join_discovery.ts";
import type { JoinNeeds } from "../../src/app/join_needs.ts";
import { parse } from "yaml";
import { eventually, type TestCluster, withCluster } from "../cluster/harness.ts";
import { clusterObjects, nodeFiles } from "./fixtures.ts";
import { deployKubeVip, type KubeVipPod, kubeVipState, proxyAnswer } from "./kube_vip_pods.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** kube-vip on the control-plane node: restarted by the plan. */
const KUBE_VIP: KubeVipPod = { name: "kube-vip", port: 8099, probe: true };
/** The same pod, accepted (never restarted): it keeps the admin.conf it read. */
const STALE_VIP: KubeVipPod = { name: "stale-vip", port: 8098, probe: false };
const STATIC_PODS = `staticPods:
  restart: [kube-vip]
  accept:
    - { name: stale-vip, reason: "the test's negative control: it keeps the admin.conf it read" }
`;

/**
 * plans/local-demo.yaml, stopping after `stopAfter`, in a temporary directory; with the static
 * pods listed unless `unlisted`.
 */
async function demoPlan(dir: string, stopAfter: string, unlisted = false): Promise<string> {
  const path = join(dir, `local-demo-${stopAfter}${unlisted ? "-unlisted" : ""}.yaml`);
  const text = (await Deno.readTextFile(join(repo, "plans/local-demo.yaml")))
    .replace(/^stopAfter: trust$/m, `stopAfter: ${stopAfter}`);
  const listed = text.replace(/^steps:$/m, `${STATIC_PODS}\nsteps:`);
  assert.notEqual(listed, text, "the demo plan's steps line");
  await Deno.writeTextFile(path, unlisted ? text : listed);
  return path;
}

const TOKEN = { id: "joins1", secret: "j0insat3verym0mt" };

Deno.test({
  name: "a join pinned to the hash status prints passes kubeadm's discovery at every phase",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  await withCluster({ apiServers: 1, nodes: 1 }, async (cluster) => {
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-join-" });
    const plans = {
      trust: await demoPlan(dir, "trust"),
      switch: await demoPlan(dir, "switch"),
      finalize: await demoPlan(dir, "finalize"),
    };
    const unlisted = {
      trust: await demoPlan(dir, "trust", true),
      switch: await demoPlan(dir, "switch", true),
    };
    const endpoint = new URL(cluster.endpoint).host;
    await createBootstrapToken(cluster, TOKEN);
    await deployKubeVip(cluster, KUBE_VIP, [0]);
    await deployKubeVip(cluster, STALE_VIP, [0]);
    const cp = cluster.nodes[0].name;
    const roots = [...cluster.nodeRoots, ...cluster.workerRoots];
    const joins = async (plan: string): Promise<JoinNeeds> => {
      const result = await caRotator(cluster, ["status", "--plan", plan, "-o", "json"]);
      assertExit(result, 0, "status -o json");
      return JSON.parse(result.stdout).joins;
    };
    const joined = (what: string, result: Discovery) =>
      assert.ok(result.ok, `${what}: kubeadm's discovery failed: ${result.error}`);
    let oldHash = "";
    let newHash = "";

    await t.step(
      "before: status prints the current CA's hash; a join pinned to it passes",
      async () => {
        const needs = await joins(plans.trust);
        assert.equal(needs.hashes.length, 1);
        assert.equal(needs.hashes[0].ca, "current");
        oldHash = needs.hashes[0].hash;
        assert.match(oldHash, /^sha256:[0-9a-f]{64}$/);
        assert.deepEqual(needs.next, {
          phase: "trust",
          step: "cluster-info-bundle",
          caData: "bundle",
        });
        const text = await caRotator(cluster, ["status", "--plan", plans.trust]);
        assertExit(text, 0, "status");
        assert.ok(
          text.stdout.includes(`Joins: kubeadm join --discovery-token-ca-cert-hash ${oldHash}\n`),
          text.stdout,
        );
        const result = await discover(cluster, endpoint, TOKEN, [oldHash]);
        joined("before the rotation", result);
        assert.deepEqual(result.caHashes, [oldHash]);
      },
    );

    await t.step(
      "static pods unlisted: the dry run refuses (exit 2), naming each with what it mounts",
      async () => {
        const refused = await caRotator(cluster, ["rotate", "--plan", unlisted.trust, "--dry-run"]);
        assertExit(refused, 2, "rotate --dry-run (static pods unlisted)");
        assert.match(
          refused.stderr,
          new RegExp(
            `The plan does not list every static pod that mounts kubeconfigs or the PKI directory \\(nothing was changed\\): static pods the plan does not list mount kubeconfigs or the PKI directory: kube-vip on ${cp} \\(/etc/kubernetes/manifests/kube-vip\\.yaml; mounts /etc/kubernetes/admin\\.conf\\); stale-vip on ${cp} \\(/etc/kubernetes/manifests/stale-vip\\.yaml; mounts /etc/kubernetes/admin\\.conf\\) — add each to staticPods\\.restart`,
          ),
        );
      },
    );

    await t.step(
      "after trust: cluster-info carries both CAs; a join pinned to either passes",
      async () => {
        const run = await caRotator(cluster, ["rotate", "--plan", plans.trust]);
        assertExit(run, 0, "rotate (trust)");
        assert.match(
          run.stderr,
          new RegExp(
            `static pod kube-vip on ${cp} \\(/etc/kubernetes/manifests/kube-vip\\.yaml; mounts /etc/kubernetes/admin\\.conf\\): restarted by the plan \\(staticPods\\.restart\\)`,
          ),
        );
        assert.match(
          run.stderr,
          /static pod stale-vip on .*: accepted \(staticPods\.accept: the test's negative control/,
        );
        await assertKubeVipRestarted(cluster, "restart-static-pods-trust");
        assert.match(
          run.stderr,
          /\[cluster-info-bundle\].*the bootstrap signer's signatures of [1-9]\d* bootstrap token\(s\) match it/,
        );
        const needs = await joins(plans.trust);
        assert.deepEqual(needs.hashes.map((each) => each.ca), ["old", "new"]);
        assert.equal(needs.hashes[0].hash, oldHash);
        newHash = needs.hashes[1].hash;
        assert.deepEqual(needs.next, {
          phase: "finalize",
          step: "cluster-info-new",
          caData: "new",
          hashes: [{ hash: newHash, ca: "new" }],
        });
        for (const hash of [newHash, oldHash]) {
          const result = await discover(cluster, endpoint, TOKEN, [hash]);
          joined(`after trust, pinned to ${hash}`, result);
          assert.deepEqual(result.caHashes, [oldHash, newHash]);
        }
      },
    );

    await t.step(
      "through the switch and after it, a join pinned to either hash passes",
      async () => {
        // Negative control first: kube-vip unlisted refuses the switch before any change.
        const filesBefore = await nodeFiles(roots);
        const objectsBefore = await clusterObjects(cluster);
        const refused = await caRotator(cluster, ["rotate", "--plan", unlisted.switch]);
        assertExit(refused, 2, "rotate (switch, static pods unlisted)");
        assert.match(refused.stderr, new RegExp(`\\(nothing was changed\\): .*kube-vip on ${cp} `));
        assert.deepEqual(await clusterObjects(cluster), objectsBefore, "no API object changed");
        assert.deepEqual(await nodeFiles(roots), filesBefore, "no node file changed");

        let running = true;
        const switched = caRotator(cluster, ["rotate", "--plan", plans.switch]).finally(() => {
          running = false;
        });
        const results: { hash: string; result: Discovery }[] = [];
        while (running) {
          const hash = results.length % 2 === 0 ? newHash : oldHash;
          results.push({ hash, result: await discover(cluster, endpoint, TOKEN, [hash], 90) });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assertExit(await switched, 0, "rotate (switch)");
        await assertKubeVipRestarted(cluster, "restart-static-pods-switch");
        const failed = results.filter(({ result }) => !result.ok);
        console.log(
          `discoveries during the switch: ${results.length}, failed ${failed.length}, longest ${
            Math.max(...results.map(({ result }) => result.seconds)).toFixed(1)
          } s`,
        );
        assert.deepEqual(failed, [], "every discovery during the switch passed");
        assert.ok(results.length >= 3, `${results.length} discoveries during the switch`);
        const needs = await joins(plans.switch);
        assert.deepEqual(needs.hashes.map((each) => each.hash), [oldHash, newHash]);
        assert.equal(needs.next?.phase, "finalize");
        for (const hash of [newHash, oldHash]) {
          joined(
            `after switch, pinned to ${hash}`,
            await discover(cluster, endpoint, TOKEN, [hash]),
          );
        }
      },
    );

    await t.step(
      "after finalize: the new CA's hash passes; negative control: the old one fails",
      async () => {
        const run = await caRotator(cluster, ["rotate", "--plan", plans.finalize]);
        assertExit(run, 0, "rotate (finalize)");
        await assertKubeVipRestarted(cluster, "restart-static-pods-finalize");
        const adminConf = parse(
          await Deno.readTextFile(join(cluster.nodeRoots[0], "etc/kubernetes/admin.conf")),
        );
        const newCa = await Deno.readTextFile(
          join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"),
        );
        assert.equal(
          atob(adminConf.clusters[0].cluster["certificate-authority-data"]),
          newCa,
          "admin.conf, which kube-vip read last, holds the new CA only",
        );
        assert.match(
          run.stderr,
          /\[cluster-info-new\].*signatures of [1-9]\d* bootstrap token\(s\) match it/,
        );
        const needs = await joins(plans.finalize);
        assert.deepEqual(needs, { hashes: [{ hash: newHash, ca: "new" }] });
        const result = await discover(cluster, endpoint, TOKEN, [newHash]);
        joined("after finalize", result);
        assert.deepEqual(result.caHashes, [newHash]);
        const refused = await discover(cluster, endpoint, TOKEN, [oldHash], 10);
        assert.equal(refused.ok, false, "a join pinned to the pre-rotation hash is refused");
        assert.match(refused.error ?? "", /none of the public keys .* are pinned/);
      },
    );
  });
  console.log(`join discovery test: ${Math.round((Date.now() - began) / 1000)} s`);
});

/**
 * After a phase: kube-vip was restarted by the phase's restart-static-pods step after admin.conf
 * was last written, and its proxy reaches the API; the negative control, stale-vip (accepted,
 * never restarted), still runs with the admin.conf it read before the rotation: from the switch
 * on, the API server's new chain fails its TLS check.
 */
async function assertKubeVipRestarted(cluster: TestCluster, stepId: string): Promise<void> {
  const node = cluster.nodes[0];
  const state = await kubeVipState(cluster, 0, KUBE_VIP);
  console.log(`${node.name}/kube-vip after ${stepId}: ${JSON.stringify(state)}`);
  assert.equal(state.mark, stepId, `${node.name}/kube-vip restarted by ${stepId}`);
  assert.ok(state.readsCurrentAdminConf, `${node.name}/kube-vip started after admin.conf changed`);
  const answer = await eventually(
    `${node.name}/kube-vip reaching the API`,
    async () => {
      const each = await proxyAnswer(node.ip, KUBE_VIP.port);
      return each.status === 200 && each;
    },
    30_000,
  );
  assert.equal(answer.status, 200);
  const stale = await kubeVipState(cluster, 0, STALE_VIP);
  assert.equal(stale.mark, undefined, "stale-vip is never restarted");
  assert.equal(stale.restarts, 0, "stale-vip is never restarted");
  assert.equal(stale.readsCurrentAdminConf, false, "stale-vip holds an earlier admin.conf");
  if (stepId.endsWith("-trust")) return;
  const cut = await eventually("stale-vip cut off from the API", async () => {
    const each = await proxyAnswer(node.ip, STALE_VIP.port);
    return each.status !== 200 && each;
  }, 30_000);
  console.log(`stale-vip after ${stepId}: ${cut.status} ${cut.body.trim()}`);
  assert.match(cut.body, /x509|certificate/, "stale-vip fails the new chain's TLS check");
}
