/**
 * The etcd CA of a stacked etcd rotated on the real control plane (three members, three API
 * servers behind haproxy) with plans/local-etcd-ca.yaml, trust → switch → finalize: etcd written
 * and read through every member for the whole rotation with the API server's etcd client
 * credentials as they are on the node at that moment, the leader observed, the API probed
 * through the load balancer; afterwards an old-CA etcd client is refused by every member. The
 * negative control, on the same cluster afterwards: two members restarted with certificates of a
 * CA their peers do not trust lose the quorum, and the probe sees it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../cluster/harness.ts";
import { type Probe, startProbe } from "./probe.ts";
import { assertExit, caRotator, dryRunJson } from "./end_state.ts";
import {
  apiServerEtcdCredentials,
  describeEtcdCounts,
  type EtcdFailure,
  type EtcdProbe,
  type EtcdProbeCounts,
  gateway,
  startEtcdProbe,
} from "./etcd_probe.ts";
import { errorText } from "../../src/steps/_watch_object.ts";
import { manifestFlags, setManifestAnnotation } from "../../src/formats/static_pod_manifest.ts";
import {
  generateCa,
  issueCertificate,
  loadCa,
  parseCertificate,
  parseCertificates,
  reissueLeaf,
} from "../../src/pki/mod.ts";

const repo = new URL("../../", import.meta.url).pathname;
const PKI = "etc/kubernetes/pki";

/** A client of every member with `credentials`: the members that answered a range. */
async function membersAnswering(
  cluster: TestCluster,
  credentials: { certPem: string; keyPem: string; caPem: string },
): Promise<{ answered: string[]; errors: string[] }> {
  const answered: string[] = [];
  const errors: string[] = [];
  for (const node of cluster.nodes) {
    try {
      await gateway(credentials, `https://${node.ip}:2379/v3/kv/range`, { key: btoa("/registry") });
      answered.push(node.name);
    } catch (error) {
      errors.push(`${node.name}: ${errorText(error)}`);
    }
  }
  return { answered, errors };
}

/** Failures a member that was up caused (not refused or closed: a member down for its restart). */
function realFailures(counts: EtcdProbeCounts): EtcdFailure[] {
  return counts.failures.filter((failure) => !["refused", "closed"].includes(failure.kind));
}

/**
 * The evidence of each failure: the leader changes the probe saw near it, and the lines of every
 * member's log (var/log/etcd.log) within 8 s before it that tell of leaders, elections,
 * transfers, dropped proposals or timeouts.
 */
async function failureEvidence(cluster: TestCluster, counts: EtcdProbeCounts): Promise<string> {
  const lines: string[] = [];
  for (const failure of realFailures(counts).slice(0, 6)) {
    const at = Date.parse(failure.at);
    const near = counts.leaderChanges.filter((change) =>
      Math.abs(Date.parse(change.at) - at) < 15_000
    );
    lines.push(
      `${failure.at} ${failure.member} ${failure.request} ${failure.kind}: ${failure.message}; ` +
        `leader changes within 15 s: ${JSON.stringify(near)}`,
    );
    for (const node of cluster.nodes) {
      let log = "";
      try {
        log = await Deno.readTextFile(join(node.root, "var/log/etcd.log"));
      } catch {
        continue;
      }
      for (const line of log.split("\n")) {
        const ts = /"ts":"([^"]+)"/.exec(line)?.[1];
        if (ts === undefined) continue;
        const when = Date.parse(ts);
        if (when < at - 8_000 || when > at + 500) continue;
        if (!/leader|elect|transfer|drop|timed out|term|stopp|SIGTERM|received signal/i.test(line)) {
          continue;
        }
        lines.push(`  ${node.name}: ${line.slice(0, 260)}`);
      }
    }
  }
  return lines.join("\n");
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
  name: "the etcd CA rotates on three stacked members with no lost quorum and no failed write",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: 3, nodes: 1 });
  let etcdProbe: EtcdProbe | undefined;
  let probe: Probe | undefined;
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

    etcdProbe = startEtcdProbe(cluster, 300);
    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    const phaseSeconds: Record<string, number> = {};

    for (const phase of ["trust", "switch", "finalize"]) {
      await t.step(`rotate, stopAfter ${phase}`, async () => {
        await writePlan(phase);
        const started = Date.now();
        const result = await caRotator(cluster, ["rotate", "--plan", planPath]);
        phaseSeconds[phase] = Math.round((Date.now() - started) / 1000);
        console.log(
          result.stderr.split("\n").filter((line) => /etcd|snapshot|gate|members/.test(line)).slice(
            -25,
          ).join("\n"),
        );
        assertExit(result, 0, `rotate (${phase})`);
      });
    }

    const etcdCounts = await etcdProbe.stop();
    etcdProbe = undefined;
    const apiCounts = await probe.stop();
    probe = undefined;
    console.log(describeEtcdCounts(etcdCounts));
    if (realFailures(etcdCounts).length > 0) {
      console.log(`etcd failures, with evidence:\n${await failureEvidence(cluster, etcdCounts)}`);
    }
    console.log(`probe through haproxy: ${JSON.stringify(apiCounts)}`);
    console.log(`phase durations (s): ${JSON.stringify(phaseSeconds)}`);

    await t.step("the snapshot was taken before anything changed, on the first node", async () => {
      const info = await Deno.stat(join(root1, "var/lib/etcd-snapshot/before-etcd-ca.db"));
      console.log(
        `snapshot: ${info.size} bytes at ${root1}/var/lib/etcd-snapshot/before-etcd-ca.db`,
      );
      assert.ok(info.size > 10_000, `a snapshot of some size (${info.size} bytes)`);
    });

    await t.step("etcd was written and read through every member, always with a leader", () => {
      for (const [name, member] of Object.entries(etcdCounts.members)) {
        assert.ok(member.ok > 100, `${name}: the probe ran (${member.ok} writes and reads)`);
        // refused and closed: a member down for its restart (failureKind); printed above.
        for (const kind of ["tls", "timeout", "http", "mismatch", "other"] as const) {
          assert.equal(
            member.failures[kind],
            0,
            `${name}: ${kind} failures (last: ${member.lastFailure[kind]})`,
          );
        }
      }
      assert.equal(etcdCounts.leaderless, 0, "no moment without a leader");
      assert.equal(etcdCounts.roundsWithoutWrite, 0, "no round without a successful write");
    });

    await t.step("the API through the load balancer never failed", () => {
      assert.ok(apiCounts.requests > 100, `the probe ran (${apiCounts.requests} requests)`);
      assert.equal(apiCounts.tlsFailures, 0, `TLS failures (last: ${apiCounts.lastFailure})`);
      assert.equal(apiCounts.unauthorized, 0, `401s (last: ${apiCounts.lastFailure})`);
      // Connection failures while an API server restarts behind haproxy are availability, not
      // trust (as in rotation_e2e_test); printed above.
    });

    await t.step(
      "after finalize: kubeadm's paths, the new CA only, old-CA clients refused",
      async () => {
        const newCaPem = await Deno.readTextFile(join(root1, PKI, "etcd/ca.crt"));
        const newCa = parseCertificate(newCaPem);
        assert.notEqual(newCa.serialNumber, parseCertificate(oldCaPem).serialNumber);
        for (const root of cluster.nodeRoots) {
          assert.equal(
            parseCertificates(await Deno.readTextFile(join(root, PKI, "etcd/ca.crt"))).length,
            1,
          );
          for (const gone of ["etcd/ca-bundle.crt", "etcd/ca-new.crt", "etcd/ca-new.key"]) {
            await assert.rejects(Deno.stat(join(root, PKI, gone)), `${root}: ${gone} removed`);
          }
          const etcd = manifestFlags(
            await Deno.readTextFile(join(root, "etc/kubernetes/manifests/etcd.yaml")),
          );
          assert.equal(etcd.get("--trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
          assert.equal(etcd.get("--peer-trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
          const apiserver = manifestFlags(
            await Deno.readTextFile(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml")),
          );
          assert.equal(apiserver.get("--etcd-cafile"), "/etc/kubernetes/pki/etcd/ca.crt");
        }
        const current = await membersAnswering(cluster, await apiServerEtcdCredentials(root1));
        assert.deepEqual(
          current.answered,
          cluster.nodes.map((node) => node.name),
          current.errors.join("; "),
        );
        // The old-CA client, verifying the members with the new CA (their certificates): refused.
        const old = await membersAnswering(cluster, {
          certPem: oldCaClient.certPem,
          keyPem: oldCaClient.keyPem!,
          caPem: newCaPem,
        });
        console.log(`old-CA etcd client after finalize: ${old.errors.join("; ")}`);
        assert.deepEqual(old.answered, [], "no member serves an old-CA client");
        assert.equal(old.errors.length, cluster.nodes.length);
        for (const error of old.errors) {
          assert.match(error, /certificate|tls|handshake|alert|eof|reset|connection closed/i);
        }
      },
    );

    await t.step("status shows every etcd step done", async () => {
      const result = await caRotator(cluster, ["status", "--plan", planPath]);
      assertExit(result, 0, "status");
      for (const id of ["etcd-snapshot", "etcd-trust-gate", "remove-old-etcd-ca"]) {
        assert.match(result.stdout, new RegExp(id), `status names ${id}`);
      }
    });

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
    await etcdProbe?.stop();
    await probe?.stop();
    await cluster.stop();
  }
});
