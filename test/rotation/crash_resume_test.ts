/**
 * Crash and resume on the real control plane (API servers behind haproxy: two; three with
 * CA_ROTATOR_API_SERVERS=3): `rotate --output jsonl` is SIGKILLed at step boundaries and in the middle of every step kind that writes — the moment the event stream
 * reports the chosen point (crash_points.ts) — and run again, phase by phase, until the
 * rotation (trust → switch → finalize) is complete. After every kill every file the rotation
 * touches on every node parses whole, the progress ConfigMap parses and there is one new CA,
 * the same one. A probe through the load balancer runs the whole time and sees no certificate
 * or 401 failure; the end state is that of an uninterrupted rotation (end_state.ts), and a rerun
 * changes nothing. At the start of the finalize (its first step is a gate, so the run that
 * proceeds while the other four start is not in a step this test must kill), five runs started
 * together: one proceeds, four are refused naming it, and the loop goes on.
 * The probe's negative control: the credentials of before the rotation fail as they should.
 *
 * `CA_ROTATOR_CRASH_POINTS=all` kills at every step's start, first two changes and waits and end
 * instead of the CI set.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadBalancedApiServers, startCluster } from "../cluster/harness.ts";
import { deployTeamWorkloads } from "./fixtures.ts";
import { assertOldCredentialsFail, startProbe } from "./probe.ts";
import {
  assertExit,
  assertKubeletsKeptTrust,
  assertOldCaGone,
  caRotator,
  kubeletStatuses,
} from "./end_state.ts";
import { namingWebhook, webhookConfiguration, webhookTrust } from "./unused_webhook.ts";
import { type KillPoint, pointName, runUntilKilled } from "./kill_at_event.ts";
import { KillSchedule } from "./kill_schedule.ts";
import { allPoints, CI_POINTS, wantsAllPoints } from "./crash_points.ts";
import { CrashChecks } from "./crash_checks.ts";
import { parse as parseYaml } from "yaml";

const repo = new URL("../../", import.meta.url).pathname;

/** The step kinds that change something on a node or in the cluster. */
const WRITING_KINDS = [
  "distribute-ca",
  "update-kubeconfigs",
  "set-component-flags",
  "roll-workloads",
  "restart-component",
  "roll-kubelets",
  "update-ca-bundles",
  "activate-ca",
  "reissue-leaves",
  "update-cluster-info",
  "prune-authentication-trust",
  "remove-old-ca",
];

Deno.test({
  name: "rotate killed with SIGKILL at 20+ points of a full rotation resumes to the end state",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: loadBalancedApiServers(), nodes: 3 });
  console.log(`cluster up in ${(cluster.upMs / 1000).toFixed(0)} s`);
  let probe: ReturnType<typeof startProbe> | undefined;
  const planDir = await Deno.makeTempDir({ prefix: "ca-rotator-crash-plan-" });
  try {
    await deployTeamWorkloads(cluster);
    const root1 = cluster.nodeRoots[0];
    const oldCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
    const oldFrontProxyCa = await Deno.readTextFile(
      join(root1, "etc/kubernetes/pki/front-proxy-ca.crt"),
    );
    const oldAdmin = await Deno.readTextFile(cluster.kubeconfig);
    await cluster.kubectl(["apply", "-f", "-"], { stdin: webhookConfiguration(oldCa) });

    const planPath = join(planDir, "local-demo.yaml");
    const demoPlan = namingWebhook(
      await Deno.readTextFile(join(repo, "plans/local-demo.yaml")),
    );
    const writePlan = (stopAfter: string) =>
      Deno.writeTextFile(planPath, demoPlan.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`));
    const steps = (parseYaml(demoPlan) as { steps: { id: string; phase: string; kind: string }[] })
      .steps;
    const full = wantsAllPoints();
    const points: KillPoint[] = full ? allPoints(steps.map((step) => step.id)) : [...CI_POINTS];
    const checks = new CrashChecks(cluster, "local-demo");
    const schedule = new KillSchedule(points, steps, checks);

    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    const kubeletsBefore = await kubeletStatuses(cluster);

    /** Runs the phase, killing each run at the next open point, until a run completes it. */
    const resumePhase = async (phase: string) => {
      await writePlan(phase);
      await schedule.resumePhase(cluster.env, planPath, phase, async () => {
        // What the kubelets saw, to tell a kubelet that lost the API from one that is down.
        for (const status of await kubeletStatuses(cluster)) {
          console.log(
            `kubelet ${status.node}: running ${status.running}, ${status.consecutiveFailures} ` +
              `failures in a row, last error: ${status.lastError}`,
          );
        }
      });
    };

    await t.step("trust: killed at each point, each rerun resumes", () => resumePhase("trust"));

    await t.step("switch: killed at each point, each rerun resumes", () => resumePhase("switch"));
    await t.step(
      "five runs started together: one proceeds, four are refused naming it",
      async () => {
        await writePlan("finalize");
        const finished: number[] = [];
        const runs = await Promise.all(
          Array.from(
            { length: 5 },
            (_, i) =>
              runUntilKilled(cluster.env, planPath, schedule.open("finalize"), {
                // The run that proceeds is killed only once the other four have been refused: a
                // run that starts after a kill would take the dead holder's lock over.
                killWhen: () => finished.length === 4,
              }).then((run) => {
                finished.push(i);
                return run;
              }),
          ),
        );
        const proceeded = runs.filter((run) =>
          run.lines.some((line) => line.type === "RunStarted")
        );
        assert.equal(proceeded.length, 1, "exactly one run proceeds");
        const winner = proceeded[0];
        for (const run of runs.filter((each) => each !== winner)) {
          assert.equal(run.code, 1, `a refused run exits 1 (README: failure): ${run.stderr}`);
          const summary = run.lines.at(-1)!;
          assert.deepEqual([summary.type, summary.exitCode], ["Summary", 1]);
          assert.match(
            run.stderr,
            new RegExp(
              `another run holds the rotation lock \\(Lease kube-system/ca-rotator-local-demo\\): ` +
                `\\S+/${winner.pid}\\b.*it expires in \\d+ s`,
            ),
          );
        }
        console.log(`5 concurrent starts: pid ${winner.pid} proceeded, 4 refused (exit 1)`);
        assert.ok(winner.killedAt, "the run that proceeded was killed at a point");
        await schedule.killed(winner, "finalize");
      },
    );

    await t.step(
      "finalize: killed at each point, each rerun resumes",
      () => resumePhase("finalize"),
    );

    await t.step("the kills covered every writing step kind, inside a step", () => {
      const { covered, passedBy } = schedule;
      console.log(`kills: ${covered.length}; points covered: ${covered.map(pointName).join(", ")}`);
      console.log(`points passed by (a resumed step ended first): ${passedBy.map(pointName)}`);
      console.log(`node files read and parsed after the kills: ${checks.filesChecked}`);
      assert.ok(covered.length >= (full ? 60 : 20), `${covered.length} kill points`);
      const whileApplying = schedule.kindsKilledInside(["StepStarted", "Waiting"]);
      const afterApply = schedule.kindsKilledInside(["ChangeApplied"]);
      console.log(`killed while applying or waiting: ${[...whileApplying].sort().join(", ")}`);
      console.log(`killed once the apply was over: ${[...afterApply].sort().join(", ")}`);
      for (const kind of WRITING_KINDS) {
        assert.ok(
          whileApplying.has(kind) || afterApply.has(kind),
          `killed inside a ${kind} step`,
        );
      }
    });

    const counts = await probe.stop();
    probe = undefined;

    await t.step("the end state is that of an uninterrupted rotation", async () => {
      const newCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
      await assertOldCaGone(cluster, { oldCa, oldFrontProxyCa, newCa });
      assert.deepEqual(await webhookTrust(cluster, newCa), { certificates: 1, holds: true });
      const fingerprints = checks.newCaFingerprints!;
      assert.equal(Object.keys(fingerprints).length, 2, "a new cluster CA and front-proxy CA");
      console.log(`probe through haproxy: ${JSON.stringify(counts)}`);
      assert.ok(counts.requests > 100, `the probe ran (${counts.requests} requests)`);
      assert.equal(counts.tlsFailures, 0, `TLS failures (last: ${counts.lastFailure})`);
      assert.equal(counts.unauthorized, 0, `401s (last: ${counts.lastFailure})`);
      assertKubeletsKeptTrust(kubeletsBefore, await kubeletStatuses(cluster));
    });

    await t.step("rotating again changes nothing", async () => {
      const again = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(again, 0, "rotate (again)");
      assert.match(again.stderr, /No changes\./);
    });

    await t.step("negative control: the probe counts the failures of old credentials", async () => {
      const newCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
      await assertOldCredentialsFail(
        cluster.endpoint,
        oldAdmin,
        newCa,
        planDir,
      );
    });
    console.log(`crash-and-resume test: ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    await probe?.stop();
    await cluster.stop();
    await Deno.remove(planDir, { recursive: true });
  }
});
