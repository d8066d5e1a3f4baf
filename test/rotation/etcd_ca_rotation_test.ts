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
import { type KillPoint, pointName, runUntilKilled } from "./kill_at_event.ts";
import {
  apiServerEtcdCredentials,
  byHandOff,
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
  const printed = new Set<string>();
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
        if (
          !/leader|elect|transfer|drop|timed out|term|stopp|SIGTERM|received signal/i.test(line)
        ) {
          continue;
        }
        if (printed.has(line)) continue;
        printed.add(line);
        lines.push(`  ${node.name}: ${line.slice(0, 260)}`);
      }
    }
  }
  return lines.join("\n");
}

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
 * kubeadm's paths on every node: `etcd/ca.crt` is `caPem` (one certificate), nothing staged, and
 * etcd's `--trusted-ca-file`, `--peer-trusted-ca-file` and the API server's `--etcd-cafile` name it.
 */
async function assertKubeadmPaths(cluster: TestCluster, caPem: string): Promise<void> {
  assert.equal(parseCertificates(caPem).length, 1, "etcd/ca.crt holds one CA");
  for (const root of cluster.nodeRoots) {
    assert.equal(await Deno.readTextFile(join(root, PKI, "etcd/ca.crt")), caPem, root);
    for (const gone of ["etcd/ca-bundle.crt", "etcd/ca-new.crt", "etcd/ca-new.key"]) {
      await assert.rejects(Deno.stat(join(root, PKI, gone)), `${root}: ${gone} removed`);
    }
    const manifests = join(root, "etc/kubernetes/manifests");
    const etcd = manifestFlags(await Deno.readTextFile(join(manifests, "etcd.yaml")));
    assert.equal(etcd.get("--trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
    assert.equal(etcd.get("--peer-trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
    const apiserver = manifestFlags(
      await Deno.readTextFile(join(manifests, "kube-apiserver.yaml")),
    );
    assert.equal(apiserver.get("--etcd-cafile"), "/etc/kubernetes/pki/etcd/ca.crt");
  }
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

/**
 * The line of the member's log (var/log/etcd.log) since `since` (epoch ms) that tells of a client
 * certificate refused for its CA, waiting up to 5 s for it to be written; undefined if none.
 */
async function rejectionLogged(root: string, since: number): Promise<string | undefined> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    const log = await Deno.readTextFile(join(root, "var/log/etcd.log")).catch(() => "");
    const line = log.split("\n").find((each) => {
      const ts = /"ts":"([^"]+)"/.exec(each)?.[1];
      return ts !== undefined && Date.parse(ts) >= since &&
        /rejected connection on client endpoint/.test(each) &&
        /unknown authority|bad certificate|certificate/i.test(each);
    });
    if (line) return line.slice(0, 300);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
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
      }
      // refused and closed: a member down for its restart (failureKind); printed above. A write
      // dropped while the leadership moves (once a pass: the leader restarts last, after handing
      // it off) is the hand-off's, printed; every other failure is asserted away.
      const { handOff, unexplained } = byHandOff(
        realFailures(etcdCounts),
        etcdCounts.leaderChanges,
      );
      const line = (f: EtcdFailure) => `${f.at} ${f.member} ${f.request} ${f.kind}: ${f.message}`;
      console.log(
        `failures at a leadership hand-off (${etcdCounts.leaderChanges.length - 1} changes): ` +
          `${handOff.length}${handOff.map((f) => `\n  ${line(f)}`).join("")}`,
      );
      assert.deepEqual(unexplained.map(line), [], "no failure through a member that was up");
      assert.ok(
        handOff.length <= cluster.nodes.length * (etcdCounts.leaderChanges.length - 1),
        "at most the requests in flight at each hand-off",
      );
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
        await assertKubeadmPaths(cluster, newCaPem);
        const current = await membersAnswering(cluster, await apiServerEtcdCredentials(root1));
        assert.deepEqual(
          current.answered,
          cluster.nodes.map((node) => node.name),
          current.errors.join("; "),
        );
        // The old-CA client, verifying the members with the new CA (their certificates): refused.
        // Under TLS 1.3 the server's rejection of a client certificate may reach the client only
        // as a closed connection (a broken pipe, an EOF), so the refusal is read on the server
        // side: every member logs it ("rejected connection on client endpoint", unknown
        // authority), while the API server's client was served by every member just before.
        const since = Date.now() - 1_000;
        const old = await membersAnswering(cluster, {
          certPem: oldCaClient.certPem,
          keyPem: oldCaClient.keyPem!,
          caPem: newCaPem,
        });
        console.log(`old-CA etcd client after finalize: ${old.errors.join("; ")}`);
        assert.deepEqual(old.answered, [], "no member serves an old-CA client");
        assert.equal(old.errors.length, cluster.nodes.length);
        for (const node of cluster.nodes) {
          const rejection = await rejectionLogged(node.root, since);
          console.log(`${node.name} logged: ${rejection ?? "nothing"}`);
          assert.ok(rejection, `${node.name}/etcd logged the old-CA client's rejection`);
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
