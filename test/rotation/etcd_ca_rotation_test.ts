/**
 * The etcd CA's steps on the real control plane (three stacked members, three API servers behind
 * haproxy) with plans/local-etcd-ca.yaml: the dry run; a rotation killed (SIGKILL) inside
 * `etcd-trust-bundle` while one member restarts, resumed, switched and rolled back — etcd written
 * and read through every member throughout with the API server's etcd client credentials of
 * that moment, the leader observed — after which every member is on the old CA with its quorum.
 * The negative control, on the same cluster afterwards: two members restarted with certificates
 * of a CA their peers do not trust lose the quorum, and the probe sees it. The whole rotation to
 * its end state, with the other three credentials, is four_credentials_test's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../cluster/harness.ts";
import { assertExit, caRotator, dryRunJson } from "./end_state.ts";
import { type KillPoint, pointName, runUntilKilled } from "./kill_at_event.ts";
import { apiServerEtcdCredentials, describeEtcdCounts, startEtcdProbe } from "./etcd_probe.ts";
import {
  assertKubeadmPaths,
  failureEvidence,
  membersAnswering,
  realFailures,
} from "./etcd_members.ts";
import { manifestFlags, setManifestAnnotation } from "../../src/formats/static_pod_manifest.ts";
import {
  generateCa,
  issueCertificate,
  loadCa,
  parseCertificate,
  reissueLeaf,
} from "../../src/pki/mod.ts";

const repo = new URL("../../", import.meta.url).pathname;
const PKI = "etc/kubernetes/pki";

/**
 * Inside etcd-trust-bundle: the fourth wait is the first restarted member's own health (three
 * quorum waits come before any write), so the kill finds one member's manifest rewritten and
 * that member coming back.
 */
const ETCD_KILL_POINT: KillPoint = { step: "etcd-trust-bundle", type: "Waiting", k: 4 };

/** How many nodes' etcd manifests trust the bundle. */
async function membersOnBundle(cluster: TestCluster): Promise<number> {
  let count = 0;
  for (const root of cluster.nodeRoots) {
    const flags = manifestFlags(
      await Deno.readTextFile(join(root, "etc/kubernetes/manifests/etcd.yaml")),
    );
    if (flags.get("--trusted-ca-file")?.endsWith("ca-bundle.crt")) count++;
  }
  return count;
}

/**
 * Every member on the old CA only, with its quorum: kubeadm's paths with the old CA, and a client
 * of the old CA (verifying the members with the old CA) served by every member, as is the API
 * server's own client.
 */
async function assertOnOldCa(
  cluster: TestCluster,
  oldCaPem: string,
  oldCaClient: { certPem: string; keyPem: string },
): Promise<void> {
  await assertKubeadmPaths(cluster, oldCaPem);
  const names = cluster.nodes.map((node) => node.name);
  const old = await membersAnswering(cluster, { ...oldCaClient, caPem: oldCaPem });
  assert.deepEqual(old.answered, names, old.errors.join("; "));
  const current = await membersAnswering(
    cluster,
    await apiServerEtcdCredentials(cluster.nodeRoots[0]),
  );
  assert.deepEqual(current.answered, names, current.errors.join("; "));
}

/** Restarts etcd on a node as the kubelet would on a manifest change (no wait). */
async function restartEtcd(root: string, mark: string): Promise<void> {
  const path = join(root, "etc/kubernetes/manifests/etcd.yaml");
  const manifest = await Deno.readTextFile(path);
  await Deno.writeTextFile(
    path,
    setManifestAnnotation(manifest, "ca-rotator.test/restarted-at", mark),
  );
}

Deno.test({
  name: "the etcd CA steps: crash, resume and rollback keep the quorum; untrusted peers lose it",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: 3, nodes: 1 });
  try {
    const root1 = cluster.nodeRoots[0];
    const oldCaPem = await Deno.readTextFile(join(root1, PKI, "etcd/ca.crt"));
    const oldCaKey = await Deno.readTextFile(join(root1, PKI, "etcd/ca.key"));
    const oldCa = await loadCa(oldCaPem, oldCaKey, "old etcd CA");
    const oldCaClient = await issueCertificate({
      ca: oldCa,
      commonName: "old-ca-etcd-client",
      extKeyUsages: ["clientAuth"],
      keyFormat: "pkcs8",
    });

    const planDir = await Deno.makeTempDir({ prefix: "ca-rotator-etcd-plan-" });
    const planPath = join(planDir, "local-etcd-ca.yaml");
    const plan = await Deno.readTextFile(join(repo, "plans/local-etcd-ca.yaml"));
    const writePlan = (stopAfter: string) =>
      Deno.writeTextFile(planPath, plan.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`));

    await t.step("before: an old-CA etcd client is served by every member", async () => {
      const { answered, errors } = await membersAnswering(cluster, {
        certPem: oldCaClient.certPem,
        keyPem: oldCaClient.keyPem!,
        caPem: oldCaPem,
      });
      assert.deepEqual(answered, cluster.nodes.map((node) => node.name), errors.join("; "));
    });

    await t.step(
      "a dry run lists every etcd step, masks the keys and changes nothing",
      async () => {
        await writePlan("trust");
        const manifestBefore = await Deno.readTextFile(
          join(root1, "etc/kubernetes/manifests/etcd.yaml"),
        );
        // The gate changes nothing: the dry run plans it (its log) but lists no change of it.
        const { result, document } = await dryRunJson(cluster, planPath);
        assert.match(result.stdout + result.stderr, /\[etcd-trust-gate\] planning etcd-trust-gate/);
        const ids = document.steps.map((step) => step.stepId);
        for (
          const id of [
            "etcd-snapshot",
            "distribute-etcd-ca",
            "etcd-trust-bundle",
            "apiserver-etcd-trust-bundle",
            "activate-etcd-ca",
            "reissue-etcd-leaves",
            "etcd-trust-new",
            "remove-old-etcd-ca",
          ]
        ) assert.ok(ids.includes(id), `the dry run lists ${id} (it lists ${ids.join(", ")})`);
        const everything = result.stdout + result.stderr;
        const keyBody = oldCaKey.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "").slice(0, 40);
        assert.ok(!everything.includes(keyBody), "the old etcd CA key is not in the dry run");
        assert.doesNotMatch(
          everything,
          /PRIVATE KEY-----\s*\n\s*[A-Za-z0-9+/]{20}/,
          "no key in the dry run",
        );
        assert.match(everything, /etcd-ca-new\.key|etcd\/ca-new\.key/, "the staged key is named");
        assert.equal(
          await Deno.readTextFile(join(root1, "etc/kubernetes/manifests/etcd.yaml")),
          manifestBefore,
          "the dry run changed no manifest",
        );
        await assert.rejects(Deno.stat(join(root1, PKI, "etcd/ca-new.crt")), "nothing staged");
      },
    );

    // The undo rotation (its own name): trust killed inside etcd-trust-bundle and resumed, then
    // switch, then rolled back; every member is then on the old CA with its quorum.
    const undoPlanPath = join(planDir, "local-etcd-ca-undo.yaml");
    const writeUndoPlan = (stopAfter: string) =>
      Deno.writeTextFile(
        undoPlanPath,
        plan.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`)
          .replace(/^ {2}name: local-etcd-ca$/m, "  name: local-etcd-ca-undo"),
      );
    await t.step("crash inside the etcd steps, resume, switch, roll back", async () => {
      const undoStarted = Date.now();
      const undoProbe = startEtcdProbe(cluster, 300);
      try {
        await writeUndoPlan("trust");
        const killed = await runUntilKilled(cluster.env, undoPlanPath, [ETCD_KILL_POINT]);
        assert.ok(
          killed.killedAt,
          `the run reached ${pointName(ETCD_KILL_POINT)}:\n${killed.stderr}`,
        );
        assert.equal(killed.code, 137, "the killed run died of SIGKILL");
        const onBundle = await membersOnBundle(cluster);
        console.log(
          `killed at ${pointName(ETCD_KILL_POINT)} (after ${killed.lastLine}): ` +
            `${onBundle} of 3 etcd manifests on the bundle`,
        );
        assert.ok(onBundle >= 1 && onBundle < 3, `killed inside the step (${onBundle} of 3)`);
        const resumed = await caRotator(cluster, ["rotate", "--plan", undoPlanPath]);
        assertExit(resumed, 0, "the resumed rotate (trust)");
        console.log(
          resumed.stderr.split("\n").filter((line) => /^\[etcd-trust-bundle\]/.test(line))
            .join("\n"),
        );
        assert.equal(await membersOnBundle(cluster), 3, "the resumed run converged");
        await writeUndoPlan("switch");
        assertExit(
          await caRotator(cluster, ["rotate", "--plan", undoPlanPath]),
          0,
          "rotate (switch)",
        );
        // Leaves of the new CA on every node, before the rollback.
        assert.notEqual(
          parseCertificate(await Deno.readTextFile(join(root1, PKI, "etcd/ca.crt"))).serialNumber,
          parseCertificate(oldCaPem).serialNumber,
          "switched: etcd/ca.crt is the new CA",
        );
        const rolled = await caRotator(cluster, ["rollback", "--plan", undoPlanPath]);
        console.log(
          rolled.stderr.split("\n").filter((line) => /etcd|rolled|rollback/.test(line)).slice(-20)
            .join("\n"),
        );
        assertExit(rolled, 0, "rollback");
      } finally {
        const counts = await undoProbe.stop();
        console.log(`crash, resume, switch, rollback: ${describeEtcdCounts(counts)}`);
        console.log(
          `crash, resume, switch, rollback: ${Math.round((Date.now() - undoStarted) / 1000)} s`,
        );
        if (realFailures(counts).length > 0) {
          console.log(`with evidence:\n${await failureEvidence(cluster, counts)}`);
        }
        assert.equal(counts.leaderless, 0, "no moment without a leader (crash, resume, rollback)");
        assert.equal(counts.roundsWithoutWrite, 0, "no round without a write (crash, rollback)");
      }
      await assertOnOldCa(cluster, oldCaPem, {
        certPem: oldCaClient.certPem,
        keyPem: oldCaClient.keyPem!,
      });
    });

    // The whole rotation (trust → switch → finalize) and its end state: four_credentials_test.

    await t.step("negative control: two members on an untrusted CA lose the quorum", async () => {
      const rogue = await generateCa({ commonName: "etcd-ca-untrusted", keyType: "ecdsa-p256" });
      for (const root of cluster.nodeRoots.slice(0, 2)) {
        for (const name of ["server", "peer"]) {
          const certPath = join(root, PKI, `etcd/${name}.crt`);
          const leaf = await reissueLeaf({
            cert: parseCertificate(await Deno.readTextFile(certPath)),
            keyPem: await Deno.readTextFile(join(root, PKI, `etcd/${name}.key`)),
            ca: rogue,
          });
          await Deno.writeTextFile(certPath, leaf.certPem);
        }
      }
      const negative = startEtcdProbe(cluster, 300);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const [index, root] of cluster.nodeRoots.slice(0, 2).entries()) {
        await restartEtcd(root, `negative-control-${index}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25_000));
      const counts = await negative.stop();
      console.log(`negative control: ${describeEtcdCounts(counts)}`);
      const third = counts.members[cluster.nodes[2].name];
      const thirdFailed = third.failures.timeout + third.failures.http + third.failures.other;
      assert.ok(
        counts.leaderless > 0 || counts.roundsWithoutWrite > 0 || thirdFailed > 0,
        "the probe saw the quorum lost (leaderless moments or failed writes)",
      );
      assert.ok(
        thirdFailed > 0,
        `writes through the untouched member ${cluster.nodes[2].name} failed`,
      );
    });
    console.log(`etcd CA rotation test: ${Math.round((Date.now() - began) / 1000)} s in all`);
  } finally {
    await cluster.stop();
  }
});
