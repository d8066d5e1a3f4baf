/**
 * `rollback` on the real control plane (two API servers behind haproxy, a worker), one
 * cluster for the whole file: a rotation killed in the middle of trust is rolled back (its dry
 * run changes nothing); a fresh rotation (a new CA) cancelled in the middle of switch, after the
 * signer switch and with every kubelet forced onto a new-CA client certificate, is rolled back;
 * each time the cluster works with the old CA only, and a client polling through the load
 * balancer sees no certificate or 401 failure. Then a rotation runs through trust and switch into
 * finalize (killed once finalize has written), and a rollback after finalize has begun is refused
 * with nothing changed. Negative
 * control: a node file left holding the new CA fails the "old CA only" check.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { apiServerReady, startCluster, type TestCluster } from "../cluster/harness.ts";
import { clusterObjects, nodeFiles } from "./fixtures.ts";
import { type Probe, startProbe } from "./probe.ts";
import {
  assertExit,
  assertKubeletsKeptTrust,
  assertNewCaGone,
  caRotator,
  kubeletStatuses,
} from "./end_state.ts";
import { runUntil } from "./ca_rotator_process.ts";
import { type KillPoint, runKilledAt } from "./kill_at_event.ts";
import { caTrustFromPem, classifyIssuer } from "../../src/kubelet/ca_trust.ts";
import { parseCertificate } from "../../src/pki/mod.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** Finalize has begun and written: cluster-info holds the new CA alone. */
const FINALIZE_BEGUN: KillPoint = { step: "cluster-info-new", type: "ChangeApplied", k: 1 };

/** plans/local-demo.yaml, stopping after `stopAfter`, in a temporary directory. */
async function demoPlan(stopAfter: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ca-rotator-rollback-plan-" });
  const path = join(dir, `local-demo-${stopAfter}.yaml`);
  const text = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
  await Deno.writeTextFile(path, text.replace(/^stopAfter: trust$/m, `stopAfter: ${stopAfter}`));
  return path;
}

/** The new CAs the rotation keeps in its Secret. */
async function newCas(cluster: TestCluster) {
  const secret = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "secret", "-n", "kube-system", "ca-rotator-local-demo-new-ca"],
  );
  return {
    newCa: atob(secret.data["cluster.crt"]),
    newFrontProxyCa: atob(secret.data["frontProxy.crt"]),
  };
}

/** Everything a dry run or a refused run must leave as it is. */
async function snapshot(cluster: TestCluster) {
  return {
    files: Object.fromEntries(await nodeFiles([...cluster.nodeRoots, ...cluster.workerRoots])),
    objects: await clusterObjects(cluster),
  };
}

async function progressRecord(cluster: TestCluster) {
  const configMap = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "configmap", "-n", "kube-system", "ca-rotator-local-demo"],
  );
  return configMap.data;
}

Deno.test({
  name: "rollback from the middle of trust and of switch leaves a cluster on the old CA only",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: 2, nodes: 1 });
  let probe: Probe | undefined;
  try {
    const pki = join(cluster.nodeRoots[0], "etc/kubernetes/pki");
    const oldCa = await Deno.readTextFile(join(pki, "ca.crt"));
    const trustPlan = await demoPlan("trust");
    const switchPlan = await demoPlan("switch");
    const finalizePlan = await demoPlan("finalize");
    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    const kubeletsBefore = await kubeletStatuses(cluster);
    let firstNewCa = "";

    await t.step(
      "killed in the middle of trust: the dry run changes nothing, rollback restores the old CA only",
      async () => {
        // SIGKILL once the first kubelet has been moved to the bundle: the others are not yet.
        const killed = await runUntil(
          cluster.env,
          ["rotate", "--plan", trustPlan, "-o", "jsonl"],
          (line) => line.type === "Waiting" && line.step === "roll-kubelets-trust-bundle",
          "SIGKILL",
        );
        assert.ok(
          killed.signalled,
          `rotate ended before roll-kubelets-trust-bundle:\n${killed.stderr}`,
        );
        assert.equal(killed.code, 137);
        const cas = await newCas(cluster);
        firstNewCa = cas.newCa;

        const before = await snapshot(cluster);
        const dry = await caRotator(cluster, ["rollback", "--plan", trustPlan, "--dry-run"]);
        assertExit(dry, 0, "rollback --dry-run");
        assert.match(dry.stdout, /undo-trust-control-plane/);
        assert.match(dry.stdout, /delete control-plane-1:\/etc\/kubernetes\/pki\/ca-new\.key/);
        // The staged key it would remove is shown masked: no line of its body appears.
        const key = await Deno.readTextFile(join(pki, "ca-new.key"));
        for (const line of key.split("\n").filter((each) => each && !each.startsWith("-----"))) {
          assert.ok(!(dry.stdout + dry.stderr).includes(line), "no line of a private key is shown");
        }
        assert.deepEqual(await snapshot(cluster), before, "the dry run changed nothing");

        // Cancelled while it restores the first control-plane node, the rollback is run again.
        const cancelled = await runUntil(
          cluster.env,
          ["rollback", "--plan", trustPlan, "-o", "jsonl"],
          (line) => line.type === "Waiting" && line.step === "undo-trust-control-plane",
          "SIGTERM",
        );
        assert.ok(cancelled.signalled, `rollback ended early:\n${cancelled.stderr}`);
        assert.equal(cancelled.code, 143, cancelled.stderr);
        // The killed rotation's lock was taken over at once: its process is gone from this host.
        assert.match(cancelled.stderr, /took the rotation lock over/);
        // Cancelled inside a restart of the API server: the next command waits for it.
        await apiServerReady(cluster);
        const held = await caRotator(cluster, ["rotate", "--plan", trustPlan]);
        assert.notEqual(held.code, 0, "rotate waits for the rollback to finish");
        assert.match(held.stderr, /a rollback of this rotation began .* run `rollback` again/);
        const rolled = await caRotator(cluster, ["rollback", "--plan", trustPlan]);
        assertExit(rolled, 0, "rollback run again");
        await assertNewCaGone(cluster, { oldCa, ...cas });
        const record = await progressRecord(cluster);
        assert.equal(record.steps, "{}");
        assert.ok(JSON.parse(record.rollback).finishedAt, "the record says it was rolled back");
        assert.ok(
          !(await cluster.kubectl(["get", "secrets", "-n", "kube-system"])).includes(
            "ca-rotator-local-demo-new-ca",
          ),
          "the new-CA Secret is gone",
        );
        assertKubeletsKeptTrust(kubeletsBefore, await kubeletStatuses(cluster));

        const nothing = await caRotator(cluster, ["rollback", "--plan", trustPlan]);
        assertExit(nothing, 2, "a second rollback");
        assert.match(
          nothing.stderr,
          /Nothing to roll back: the rotation of plan "local-demo" was rolled back/,
        );
      },
    );

    await t.step(
      "negative control: a node file left holding the new CA fails the check",
      async () => {
        const leftover = join(cluster.workerRoots[0], "etc/kubernetes/pki/leftover.crt");
        await Deno.writeTextFile(leftover, firstNewCa);
        try {
          await assert.rejects(
            assertNewCaGone(cluster, { oldCa, newCa: firstNewCa, newFrontProxyCa: firstNewCa }),
            /no node file holds a new CA/,
          );
        } finally {
          await Deno.remove(leftover);
        }
      },
    );

    await t.step(
      "cancelled in the middle of switch, kubelets on new-CA certificates: rollback restores the old CA only",
      async () => {
        const cancelled = await runUntil(
          cluster.env,
          ["rotate", "--plan", switchPlan, "-o", "jsonl"],
          (line) => line.type === "StepStarted" && line.step === "roll-workloads-switch",
          "SIGTERM",
        );
        assert.ok(
          cancelled.signalled,
          `rotate ended before roll-workloads-switch:\n${cancelled.stderr}`,
        );
        assert.equal(cancelled.code, 143, cancelled.stderr);
        const cas = await newCas(cluster);
        assert.notEqual(
          cas.newCa,
          firstNewCa,
          "the rotation after a rollback starts with a new CA",
        );
        // The controller-manager signs with the new CA: every kubelet gets a certificate of it.
        const forced = await caRotator(cluster, [
          "verify-kubelets",
          "--plan",
          switchPlan,
          "--force-rotation",
        ]);
        assertExit(forced, 0, "verify-kubelets --force-rotation");
        assert.match(forced.stdout + forced.stderr, /3 ok, 0 will rotate, 0 blocking/);

        const before = await snapshot(cluster);
        const dry = await caRotator(cluster, ["rollback", "--plan", switchPlan, "--dry-run"]);
        assertExit(dry, 0, "rollback --dry-run");
        assert.match(dry.stdout, /undo-switch-kubelet-clients\] ~ restart worker-1\/kubelet/);
        assert.deepEqual(await snapshot(cluster), before, "the dry run changed nothing");

        const rolled = await caRotator(cluster, ["rollback", "--plan", switchPlan]);
        assertExit(rolled, 0, "rollback");
        await assertNewCaGone(cluster, { oldCa, ...cas });
        const issuers = [];
        for (const root of [...cluster.nodeRoots, ...cluster.workerRoots]) {
          const pem = await Deno.readTextFile(
            join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"),
          );
          issuers.push(
            await classifyIssuer(parseCertificate(pem), caTrustFromPem(cas.newCa, oldCa)),
          );
        }
        assert.deepEqual(
          issuers,
          issuers.map(() => "old"),
          "every kubelet is on an old-CA certificate",
        );
        assertKubeletsKeptTrust(kubeletsBefore, await kubeletStatuses(cluster));
      },
    );

    await t.step(
      "the probe through the load balancer saw no certificate or 401 failure",
      async () => {
        const counts = await probe!.stop();
        probe = undefined;
        console.log(
          `probe: ${counts.requests} requests, ${counts.ok} ok, ${counts.tlsFailures} TLS, ` +
            `${counts.unauthorized} 401, ${counts.otherFailures} other (last: ${
              counts.lastFailure ?? "-"
            })`,
        );
        assert.equal(counts.tlsFailures, 0, counts.lastFailure ?? "");
        assert.equal(counts.unauthorized, 0, counts.lastFailure ?? "");
        assert.ok(counts.ok > 0);
      },
    );

    await t.step(
      "a rotation after the rollbacks reaches finalize; rollback is then refused",
      async () => {
        // Through trust and switch, and killed once finalize has written (cluster-info): the
        // normal end state is rotation_e2e_test's.
        await runKilledAt(cluster.env, finalizePlan, FINALIZE_BEGUN, "rotate to finalize");
        const before = await snapshot(cluster);
        const refused = await caRotator(cluster, ["rollback", "--plan", finalizePlan]);
        assertExit(refused, 2, "rollback after finalize");
        assert.match(refused.stderr, /Cannot roll back: the finalize phase has begun/);
        assert.deepEqual(await snapshot(cluster), before, "the refused rollback changed nothing");
      },
    );
    console.log(
      `rollback test: ${Math.round((Date.now() - began) / 1000)} s (cluster up ${
        Math.round(cluster.upMs / 1000)
      } s)`,
    );
  } finally {
    await probe?.stop();
    await cluster.stop();
  }
});
