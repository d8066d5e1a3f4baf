/**
 * All four credentials of a kubeadm cluster rotated in one plan, on the real control plane
 * (three API servers with stacked etcd members behind haproxy, two workers with kubelets): the
 * cluster CA, the front-proxy CA, the service-account signing key and the etcd CA, trust →
 * switch → finalize (test/rotation/four_credentials_plan.ts). For the whole rotation: the API
 * probed through the load balancer, etcd written and read through every member with the API
 * server's own etcd client credentials, client-go in-cluster clients with bound tokens, and a
 * legacy token Secret. Every phase's runs are SIGKILLed inside the etcd CA's and the service-
 * account key's steps (crash_points.ts: in CI NEW_CREDENTIAL_POINTS, 7 — the snapshot, the key's
 * staging, activation and removal, the etcd members' restart, the etcd CA's activation and
 * removal; with `CA_ROTATOR_CRASH_POINTS=all` all 13, the distributions, the signing switch and the
 * gates too) and resumed until the phase completes, with the crash checks after every kill (node
 * files whole, the progress record parses, one new-CA Secret whose CAs never change). Afterwards:
 * a token of the old
 * key gets 401, the JWKS lists the new key only, an old-CA etcd client is refused by every
 * member, and the old cluster and front-proxy CAs are gone everywhere. Each credential's negative
 * control and rollback are its own test's (rotation_e2e_test, sa_key_rotation_test,
 * etcd_ca_rotation_test).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../cluster/harness.ts";
import { writeKwokToken } from "../cluster/supervisor_kwok.ts";
import { assertOldCredentialsFail, type Probe, startProbe } from "./probe.ts";
import { clientStatuses, deployInClusterClients, describeClient } from "./in_cluster_clients.ts";
import { assertExit, assertOldCaGone, caRotator, dryRunJson } from "./end_state.ts";
import { pointName } from "./kill_at_event.ts";
import {
  NEW_CREDENTIAL_POINTS,
  NEW_CREDENTIAL_POINTS_ALL,
  wantsAllPoints,
} from "./crash_points.ts";
import { CrashChecks } from "./crash_checks.ts";
import { KillSchedule, type ScheduledStep } from "./kill_schedule.ts";
import { parse as parseYaml } from "yaml";
import {
  apiServerEtcdCredentials,
  byHandOff,
  describeEtcdCounts,
  type EtcdFailure,
  type EtcdProbe,
  startEtcdProbe,
} from "./etcd_probe.ts";
import {
  assertKubeadmPaths,
  byMemberRestart,
  failureEvidence,
  memberDownSpans,
  membersAnswering,
  realFailures,
  rejectionLogged,
} from "./etcd_members.ts";
import {
  clientTotals,
  createTokenSecret,
  jwksKeyIds,
  teamAToken,
  tokenSecretKeyId,
  tokenSecretToken,
  tokenStatus,
} from "./sa_tokens.ts";
import { fourCredentialsPlan } from "./four_credentials_plan.ts";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";
import {
  issueCertificate,
  jwtKeyId,
  loadCa,
  parseCertificate,
  publicKeyIds,
} from "../../src/pki/mod.ts";

const PKI = "etc/kubernetes/pki";
const PLAN_NAME = "four-credentials";
/** plans/local-etcd-ca.yaml's etcd-snapshot path, under the first node's root. */
const SNAPSHOT = "var/lib/etcd-snapshot/before-etcd-ca.db";
/** How long the probe through haproxy waits for an answer (below). */
const PROBE_TIMEOUT_SECONDS = 20;

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(0);

Deno.test({
  name: "all four credentials rotate in one plan with no failed request, write or token",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: 3, nodes: 2 });
  let probe: Probe | undefined;
  let etcdProbe: EtcdProbe | undefined;
  try {
    await deployInClusterClients(cluster);
    const root1 = cluster.nodeRoots[0];
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-four-" });
    const planPath = join(dir, `${PLAN_NAME}.yaml`);
    const writePlan = async (stopAfter: string) =>
      await Deno.writeTextFile(planPath, await fourCredentialsPlan(PLAN_NAME, stopAfter));
    const read = (path: string) => Deno.readTextFile(join(root1, PKI, path));

    const oldAdmin = await Deno.readTextFile(cluster.kubeconfig);
    const oldCa = await read("ca.crt");
    const oldFrontProxyCa = await read("front-proxy-ca.crt");
    const oldEtcdCa = await read("etcd/ca.crt");
    const oldEtcdClient = await issueCertificate({
      ca: await loadCa(oldEtcdCa, await read("etcd/ca.key"), "old etcd CA"),
      commonName: "old-ca-etcd-client",
      extKeyUsages: ["clientAuth"],
      keyFormat: "pkcs8",
    });
    const [oldKid] = await publicKeyIds(await read("sa.pub"));
    const endpoints = cluster.nodes.map((node) => `https://${node.ip}:6443`);
    // A token of the old key from the TokenRequest API, as a CI job would hold one, and a legacy
    // token Secret (the gate re-issues team-a's).
    const oldToken = await teamAToken(cluster, "2h");
    assert.equal(jwtKeyId(oldToken), oldKid);
    assert.equal(await createTokenSecret(cluster, "team-a", "reader-token"), oldKid);
    // Both cluster CAs, to reach the API servers whichever chain they serve.
    const bothCas = join(dir, "both-cas.crt");

    await t.step("the dry run lists every credential's steps and changes nothing", async () => {
      await writePlan("finalize");
      const { result, document } = await dryRunJson(cluster, planPath);
      const ids = document.steps.map((step) => step.stepId);
      for (
        const id of [
          "etcd-snapshot",
          "distribute-cluster-ca",
          "distribute-front-proxy-ca",
          "distribute-etcd-ca",
          "distribute-sa-key",
          "etcd-trust-bundle",
          "apiserver-trust-bundle",
        ]
      ) assert.ok(ids.includes(id), `the dry run lists ${id} (it lists ${ids.join(", ")})`);
      const text = result.stdout + result.stderr;
      assert.doesNotMatch(text, /PRIVATE KEY-----\s*\n\s*[A-Za-z0-9+/]{20}/, "no key in it");
      for (const root of cluster.nodeRoots) {
        for (const staged of ["ca-new.crt", "sa-new.key", "etcd/ca-new.crt"]) {
          await assert.rejects(Deno.stat(join(root, PKI, staged)), `${root}: no ${staged}`);
        }
      }
      console.log(`dry run: ${JSON.stringify(document.summary)}`);
    });

    const steps = (parseYaml(await fourCredentialsPlan(PLAN_NAME, "finalize")) as {
      steps: ScheduledStep[];
    }).steps;
    const points = wantsAllPoints() ? NEW_CREDENTIAL_POINTS_ALL : NEW_CREDENTIAL_POINTS;
    const schedule = new KillSchedule(
      points,
      steps,
      new CrashChecks(cluster, PLAN_NAME),
    );
    const clientsAtStart = await clientStatuses(cluster);
    probe = startProbe(cluster.endpoint, cluster.kubeconfig, 250, PROBE_TIMEOUT_SECONDS);
    etcdProbe = startEtcdProbe(cluster, 300);
    const phaseSeconds: Record<string, string> = {};
    let newKid = "";

    await t.step(
      "trust: killed inside each new step, resumed; everything trusts both",
      async () => {
        await writePlan("trust");
        const started = Date.now();
        await schedule.resumePhase(cluster.env, planPath, "trust");
        phaseSeconds.trust = seconds(started);
        [newKid] = await publicKeyIds(await read("sa-new.pub"));
        assert.deepEqual(await jwksKeyIds(cluster), [oldKid, newKid].sort());
        for (const root of cluster.nodeRoots) {
          const manifests = join(root, "etc/kubernetes/manifests");
          const apiserver = manifestFlags(
            await Deno.readTextFile(join(manifests, "kube-apiserver.yaml")),
          );
          assert.equal(apiserver.get("--service-account-key-file"), `/${PKI}/sa-bundle.pub`);
          assert.equal(apiserver.get("--etcd-cafile"), `/${PKI}/etcd/ca-bundle.crt`);
          assert.equal(apiserver.get("--client-ca-file"), `/${PKI}/ca-bundle.crt`);
          const etcd = manifestFlags(await Deno.readTextFile(join(manifests, "etcd.yaml")));
          assert.equal(etcd.get("--trusted-ca-file"), `/${PKI}/etcd/ca-bundle.crt`);
        }
        await Deno.writeTextFile(bothCas, await read("ca-bundle.crt"));
      },
    );

    await t.step(
      "switch: killed inside each new step, resumed; new CAs issue, the new key signs",
      async () => {
        await writePlan("switch");
        const started = Date.now();
        await schedule.resumePhase(cluster.env, planPath, "switch");
        phaseSeconds.switch = seconds(started);
        const token = await teamAToken(cluster);
        assert.equal(jwtKeyId(token), newKid, "a new token is signed by the new key");
        for (const endpoint of endpoints) {
          assert.equal(await tokenStatus(endpoint, token, bothCas), "200", `${endpoint}: new key`);
          assert.equal(await tokenStatus(endpoint, oldToken, bothCas), "200", `${endpoint}: old`);
        }
        const replaced: [string, string][] = [
          ["ca.crt", oldCa],
          ["front-proxy-ca.crt", oldFrontProxyCa],
          ["etcd/ca.crt", oldEtcdCa],
        ];
        for (const [name, before] of replaced) {
          assert.notEqual(
            parseCertificate(await read(name)).serialNumber,
            parseCertificate(before).serialNumber,
            `${name} is the new CA`,
          );
        }
        // kwok holds a token in a file (test/cluster/supervisor_kwok.ts), as an external client of
        // the API does; its owner gives it a token of the new key before the old key goes.
        const kwokToken = await writeKwokToken(cluster.kubectl, cluster.env.CLUSTER_STATE_DIR);
        assert.equal(jwtKeyId(kwokToken), newKid);
      },
    );

    await t.step(
      "finalize: killed inside each new step, resumed; old ones gone",
      async () => {
        await writePlan("finalize");
        const started = Date.now();
        await schedule.resumePhase(cluster.env, planPath, "finalize");
        phaseSeconds.finalize = seconds(started);
      },
    );

    await t.step("the kills landed inside every new step they name", () => {
      const { covered, passedBy } = schedule;
      console.log(`kills: ${covered.length}; points covered: ${covered.map(pointName).join(", ")}`);
      console.log(`node files read and parsed after the kills: ${schedule.checks.filesChecked}`);
      assert.deepEqual(passedBy.map(pointName), [], "no point passed by");
      const inside = schedule.stepsKilledInside(["StepStarted", "Waiting", "ChangeApplied"]);
      assert.deepEqual(
        inside,
        points.map((each) => each.step),
        "every kill landed inside its step",
      );
      assert.equal(
        Object.keys(schedule.checks.newCaFingerprints ?? {}).length,
        3,
        "one new cluster, front-proxy and etcd CA throughout",
      );
    });

    const apiCounts = await probe.stop();
    probe = undefined;
    const etcdCounts = await etcdProbe.stop();
    etcdProbe = undefined;
    console.log(`phase seconds: ${JSON.stringify(phaseSeconds)}`);

    await t.step("no request through the load balancer failed", () => {
      console.log(`probe through haproxy: ${JSON.stringify(apiCounts)}`);
      assert.ok(apiCounts.requests > 100, `the probe ran (${apiCounts.requests} requests)`);
      assert.equal(apiCounts.tlsFailures, 0, `TLS failures (last: ${apiCounts.lastFailure})`);
      assert.equal(apiCounts.unauthorized, 0, `401s (last: ${apiCounts.lastFailure})`);
      assert.equal(apiCounts.otherFailures, 0, `other failures (last: ${apiCounts.lastFailure})`);
      assert.equal(apiCounts.notReadyNodes, 0, "every node Ready throughout");
      // kubeadm's stacked API server reaches etcd through its own member only
      // (--etcd-servers=https://127.0.0.1:2379): a request haproxy sends to it while that member
      // restarts waits for the member (about 5 s) — a client that gives up sooner fails (with 5 s:
      // one request at each member restart, 6 of 1,210, in run 2 of this test). The probe waits
      // 20 s, as a client with no timeout of its own would wait; its slow requests are placed.
      const spans = memberDownSpans(etcdCounts.failures);
      const { inRestart, outside } = byMemberRestart(apiCounts.slowAt, spans);
      console.log(
        `etcd members down ${spans.length} times (${
          spans.map((span) => `${span.member} ${((span.to - span.from) / 1000).toFixed(1)} s`)
            .join(", ")
        }); requests through haproxy over 2 s: ${apiCounts.slowAt.length} (slowest ` +
          `${(apiCounts.slowestMs / 1000).toFixed(1)} s), ${inRestart.length} of them while a ` +
          `member restarted, ${outside.length} at other times ${JSON.stringify(outside)}`,
      );
    });

    await t.step(
      "etcd was written and read through every member, always with a leader",
      async () => {
        console.log(describeEtcdCounts(etcdCounts));
        if (realFailures(etcdCounts).length > 0) {
          console.log(
            `etcd failures, with evidence:\n${await failureEvidence(cluster, etcdCounts)}`,
          );
        }
        for (const [name, member] of Object.entries(etcdCounts.members)) {
          assert.ok(member.ok > 100, `${name}: the probe ran (${member.ok} writes and reads)`);
        }
        // As in etcd_ca_rotation_test: refused and closed are a member down for its restart; a
        // write dropped while the leadership moves is the hand-off's, printed; nothing else.
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
      },
    );

    await t.step("no in-cluster client got a 401 or a certificate failure", async () => {
      const clients = await clientTotals(cluster, clientsAtStart);
      console.log(
        `in-cluster clients: ${clients.statuses.length} pods, ${clients.requests} requests; ` +
          `failures by kind ${JSON.stringify(clients.failures)}`,
      );
      for (const status of clients.statuses) console.log(`  ${describeClient(status)}`);
      assert.ok(clients.requests > 100, `the clients ran (${clients.requests} requests)`);
      assert.equal(clients.unauthorized, 0, "no in-cluster client got a 401");
      assert.equal(clients.failures.certificate ?? 0, 0, "no certificate failure");
    });

    await t.step(
      "after finalize: the old key's tokens get 401, the JWKS has the new key",
      async () => {
        const newCa = await read("ca.crt");
        await Deno.writeTextFile(bothCas, newCa);
        assert.deepEqual(await jwksKeyIds(cluster), [newKid]);
        const old = await Promise.all(
          [...endpoints, cluster.endpoint].map((url) => tokenStatus(url, oldToken, bothCas)),
        );
        console.log(`an old-key token at each API server and haproxy: ${old.join(", ")}`);
        assert.deepEqual(old, ["401", "401", "401", "401"]);
        // The legacy token Secret was re-issued with the new key, and works.
        assert.equal(await tokenSecretKeyId(cluster, "team-a", "reader-token"), newKid);
        const legacyToken = await tokenSecretToken(cluster, "team-a", "reader-token");
        assert.equal(await tokenStatus(cluster.endpoint, legacyToken!, bothCas), "200");
        for (const root of cluster.nodeRoots) {
          assert.deepEqual(await publicKeyIds(await Deno.readTextFile(join(root, PKI, "sa.pub"))), [
            newKid,
          ]);
          for (const file of ["sa-new.key", "sa-new.pub", "sa-bundle.pub"]) {
            await assert.rejects(
              () => Deno.stat(join(root, PKI, file)),
              `${root}: ${file} removed`,
            );
          }
        }
      },
    );

    await t.step("after finalize: an old-CA etcd client is refused by every member", async () => {
      const newEtcdCa = await read("etcd/ca.crt");
      await assertKubeadmPaths(cluster, newEtcdCa);
      const current = await membersAnswering(cluster, await apiServerEtcdCredentials(root1));
      const names = cluster.nodes.map((node) => node.name);
      assert.deepEqual(current.answered, names, current.errors.join("; "));
      const since = Date.now() - 1_000;
      const old = await membersAnswering(cluster, {
        certPem: oldEtcdClient.certPem,
        keyPem: oldEtcdClient.keyPem!,
        caPem: newEtcdCa,
      });
      assert.deepEqual(old.answered, [], "no member serves an old-CA client");
      for (const node of cluster.nodes) {
        const rejection = await rejectionLogged(node.root, since);
        console.log(`${node.name} logged: ${rejection ?? "nothing"}`);
        assert.ok(rejection, `${node.name}/etcd logged the old-CA client's rejection`);
      }
    });

    await t.step("after finalize: the old cluster and front-proxy CAs are gone", async () => {
      // The etcd snapshot holds the cluster's objects of before the rotation (the old CA in
      // kube-root-ca.crt and cluster-info) and every Secret: kept on purpose, on the first node,
      // readable by its owner only.
      const snapshot = await Deno.stat(join(root1, SNAPSHOT));
      assert.equal(
        snapshot.mode! & 0o077,
        0,
        `${SNAPSHOT} is private (${snapshot.mode!.toString(8)})`,
      );
      await assertOldCaGone(
        cluster,
        { oldCa, oldFrontProxyCa, newCa: await read("ca.crt") },
        [SNAPSHOT],
      );
    });

    await t.step(
      "negative control: the probe, waiting as long, counts the failures of old credentials",
      async () => {
        await assertOldCredentialsFail(
          cluster.endpoint,
          oldAdmin,
          await read("ca.crt"),
          dir,
          PROBE_TIMEOUT_SECONDS,
        );
      },
    );

    await t.step("status shows every step done; rotating again changes nothing", async () => {
      const status = await caRotator(cluster, ["status", "--plan", planPath]);
      assertExit(status, 0, "status");
      for (
        const id of ["etcd-trust-gate", "sa-token-gate", "remove-old-etcd-ca", "verify-finalize"]
      ) {
        assert.match(status.stdout, new RegExp(id), `status names ${id}`);
      }
      const again = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(again, 0, "rotate (again)");
      assert.match(again.stderr, /No changes\./);
    });
    console.log(`four-credential rotation test: ${seconds(began)} s in all`);
  } finally {
    await probe?.stop();
    await etcdProbe?.stop();
    await cluster.stop();
  }
});
