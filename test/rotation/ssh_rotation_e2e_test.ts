/**
 * The production path: plans/ssh-demo.yaml (plans/kubeadm.yaml but for addresses and
 * credentials) run over ssh with sudo against three control-plane nodes and three workers, each
 * reachable over ssh in a mount namespace holding its files at their real paths. First the
 * failures an operator meets (a node's sshd down, a changed host key, sudo asking for a
 * password, a full disk) on the same cluster: each exits 1 naming the host and changes no node
 * file; then the whole rotation, trust → switch → finalize, through the load balancer, with the
 * end state of the local-driver test, the ssh round trips of every step, and a rerun that
 * changes nothing. The workers are found from the cluster (the shipped plan's selector): a
 * selector that misses a worker, one that also matches the listed control plane, and a matched
 * Node without an InternalIP are each refused (exit 2, nothing changed); worker-3 comes into the
 * selector only after trust (as a Node that joins mid-rotation) and the switch brings it to the
 * trust state first. Last, the negative control of the probe and the end state: one API server put
 * back on its old-CA serving certificate is seen by both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster, type TestCluster } from "../cluster/harness.ts";
import { inNodeNamespace, replaceHostKey, startSshd, stopSshd } from "../cluster/ssh_nodes.ts";
import { holdRunLockElsewhere, nodeFiles } from "./fixtures.ts";
import { type Probe, startProbe } from "./probe.ts";
import {
  assertExit,
  assertKubeletsKeptTrust,
  assertOldCaGone,
  caRotator,
  kubeletStatuses,
  type RunResult,
  servesChainTo,
} from "./end_state.ts";
import { runCaRotator, runUntil } from "./ca_rotator_process.ts";
import { KubeClusterApi } from "../../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { ConfigMapProgressStore } from "../../src/state/progress_configmap.ts";

const repo = new URL("../../", import.meta.url).pathname;

/**
 * The most ssh round trips one node may take in one step: a few directory reads, the writes,
 * a restart and a health wait — not one per file read or per health poll.
 */
const MAX_ROUND_TRIPS_PER_NODE_PER_STEP = 12;

interface StepRoundTrips {
  stepId: string;
  total: number;
  maxPerNode: number;
  perNode: Record<string, number>;
}

/** The node files before and after a failed run must be the same. */
async function assertNoNodeFileChanged(
  roots: readonly string[],
  before: Map<string, string>,
  what: string,
): Promise<void> {
  const after = await nodeFiles(roots);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), `${what}: same files`);
  for (const [path, content] of before) {
    assert.equal(after.get(path), content, `${what}: ${path} is unchanged`);
  }
}

/** A failed run: exit 1, the host and the reason named on its error line. */
function assertFailedNaming(result: RunResult, host: string, reason: RegExp, what: string) {
  assertExit(result, 1, what);
  const error = result.stderr.split("\n").filter((line) => line.includes("error")).join("\n");
  assert.match(error, new RegExp(`${host} \\(ops@`), `${what}: the error names ${host}`);
  assert.match(error, reason, `${what}: the error says why`);
  console.log(`${what}: ${error.trim()}`);
}

Deno.test({
  // No skip without sshd: `cluster up` installs openssh-server and sudo when they are missing.
  name: "a whole rotation over ssh with sudo: 3 control-plane nodes and 3 workers",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster: TestCluster = await startCluster({ apiServers: 3, nodes: 3, ssh: true });
  let probe: Probe | undefined;
  try {
    const planDir = await Deno.makeTempDir({ prefix: "ca-rotator-ssh-plan-" });
    const planPath = join(planDir, "ssh-demo.yaml");
    const shipped = await Deno.readTextFile(join(repo, "plans/ssh-demo.yaml"));
    // Tuning only (not digested): the kubelet gate forces the rotation of every kubelet not on
    // the new CA within 10 s (over ssh: key, certificate, link, `systemctl restart kubelet`)
    // instead of waiting up to 30 minutes for them to rotate by themselves.
    assert.match(shipped, /^ {4}wait: 30m$/m);
    const tuned = shipped.replace(/^ {4}wait: 30m$/m, "    wait: 10s");
    const writePlan = (stopAfter: string) =>
      Deno.writeTextFile(planPath, tuned.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`));
    const rotate = async (what: string, code = 0) => {
      const result = await caRotator(cluster, ["rotate", "--plan", planPath, "--output", "json"]);
      assertExit(result, code, what);
      return result;
    };
    const allRoots = [...cluster.nodeRoots, ...cluster.workerRoots];
    await writePlan("trust");
    const filesBefore = await nodeFiles(allRoots);

    await t.step("a node whose sshd is down: exit 1 naming it, nothing changed", async () => {
      await stopSshd(cluster, "worker-2");
      try {
        const result = await rotate("rotate (worker-2 unreachable)", 1);
        assertFailedNaming(result, "worker-2", /unreachable.*Connection refused/, "unreachable");
      } finally {
        await startSshd(cluster, "worker-2");
      }
      await assertNoNodeFileChanged(allRoots, filesBefore, "unreachable");
    });

    await t.step("a changed host key: exit 1 naming the host, nothing sent", async () => {
      const restore = await replaceHostKey(cluster, "control-plane-2");
      try {
        const result = await rotate("rotate (control-plane-2's host key changed)", 1);
        assertFailedNaming(
          result,
          "control-plane-2",
          /host key does not match the one pinned in .*known_hosts/,
          "host key",
        );
      } finally {
        await restore();
      }
      await assertNoNodeFileChanged(allRoots, filesBefore, "host key");
    });

    await t.step("sudo asking for a password: exit 1 naming the host", async () => {
      const sudoers = "/etc/sudoers.d/ca-rotator-ops";
      const entry = await inNodeNamespace(cluster, "control-plane-3", `cat ${sudoers}`);
      await inNodeNamespace(cluster, "control-plane-3", `rm ${sudoers}`);
      try {
        const result = await rotate("rotate (no sudo on control-plane-3)", 1);
        assertFailedNaming(
          result,
          "control-plane-3",
          /sudo asks for a password.*NOPASSWD/,
          "sudo",
        );
      } finally {
        await inNodeNamespace(
          cluster,
          "control-plane-3",
          `printf '%s' '${entry}' > ${sudoers} && chmod 0440 ${sudoers}`,
        );
      }
      await assertNoNodeFileChanged(allRoots, filesBefore, "sudo");
    });

    await t.step("a full disk: exit 1 naming the host, the files untouched", async () => {
      // A small tmpfs, filled up, holds a copy of control-plane-1's /etc/kubernetes/pki in its
      // mount namespace: the first file the rotation writes there cannot be written.
      const fill = [
        "set -e",
        "mkdir -p /run/ca-rotator-full",
        "mount -t tmpfs -o size=512k ca-rotator-full /run/ca-rotator-full",
        "mkdir /run/ca-rotator-full/pki",
        "cp -a /etc/kubernetes/pki/. /run/ca-rotator-full/pki/",
        "dd if=/dev/zero of=/run/ca-rotator-full/filler bs=4k 2>/dev/null || true",
        "mount --bind /run/ca-rotator-full/pki /etc/kubernetes/pki",
      ].join("\n");
      const listing = "cd /etc/kubernetes/pki && ls -A && find . -type f | sort | xargs sha256sum";
      const pkiBefore = await inNodeNamespace(cluster, "control-plane-1", listing);
      await inNodeNamespace(cluster, "control-plane-1", fill);
      try {
        assert.equal(await inNodeNamespace(cluster, "control-plane-1", listing), pkiBefore);
        const result = await rotate("rotate (control-plane-1's disk full)", 1);
        assertFailedNaming(
          result,
          "control-plane-1",
          /cannot write \/etc\/kubernetes\/pki\/\S+ over ssh: the disk is full.*is unchanged/,
          "full disk",
        );
        assert.equal(
          await inNodeNamespace(cluster, "control-plane-1", listing),
          pkiBefore,
          "no file of the full directory changed, no temporary file left",
        );
      } finally {
        await inNodeNamespace(
          cluster,
          "control-plane-1",
          "umount /etc/kubernetes/pki && umount /run/ca-rotator-full",
        );
      }
      await assertNoNodeFileChanged(allRoots, filesBefore, "full disk");
    });

    await t.step(
      "a run refused by the lock leaves no ssh connection and no socket directory",
      async () => {
        // Each run gets a TMPDIR of its own: its ssh socket directory is made there.
        const leftovers = async (tmp: string) => ({
          socketDirs: [...Deno.readDirSync(tmp)].map((entry) => entry.name)
            .filter((name) => name.startsWith("ca-rotator-ssh-")),
          sshProcesses: (await new Deno.Command("pgrep", { args: ["-af", `ssh.*${tmp}/`] })
            .output().then((out) => new TextDecoder().decode(out.stdout))).trim(),
        });
        await holdRunLockElsewhere(cluster, "kubeadm-ha", "ci-runner-3/77");
        // Short: a deeper TMPDIR would hold no socket (src/nodes/ssh_connections.ts).
        const shortTmp = async () => {
          const dir = `/tmp/cr${crypto.randomUUID().slice(0, 6)}`;
          await Deno.mkdir(dir, { mode: 0o700 });
          return dir;
        };
        const refusedTmp = await shortTmp();
        const killedTmp = await shortTmp();
        try {
          const refused = await runCaRotator({ ...cluster.env, TMPDIR: refusedTmp }, [
            "rotate",
            "--plan",
            planPath,
          ]);
          assertExit(refused, 1, "rotate (lock held on another host)");
          assert.match(refused.stderr, /ci-runner-3\/77/);
          // The nodes were connected (over ssh, sudo checked) before the lock was asked for.
          assert.deepEqual(await leftovers(refusedTmp), { socketDirs: [], sshProcesses: "" });

          // Negative control: a dry run killed once it runs its first step leaves its masters
          // (ControlPersist) and their socket directory behind, and the check sees both.
          const killed = await runUntil(
            { ...cluster.env, TMPDIR: killedTmp },
            ["rotate", "--plan", planPath, "--dry-run", "-o", "jsonl"],
            (line) => line.type === "StepStarted",
            "SIGKILL",
          );
          assert.ok(killed.signalled, `the dry run ended before its first step:\n${killed.stderr}`);
          const left = await leftovers(killedTmp);
          assert.equal(left.socketDirs.length, 1, "the killed run's socket directory is left");
          assert.notEqual(left.sshProcesses, "", "its ssh masters are left");
        } finally {
          // The masters the killed run left are this test's own: ended by their socket paths.
          await new Deno.Command("pkill", { args: ["-f", `ssh.*${killedTmp}/`] }).output();
          await Deno.remove(refusedTmp, { recursive: true });
          await Deno.remove(killedTmp, { recursive: true });
          await cluster.kubectl(["delete", "lease", "-n", "kube-system", "ca-rotator-kubeadm-ha"]);
        }
      },
    );

    await t.step(
      "workers found from the cluster: a selector that misses one, matches a listed node, or finds a Node without an InternalIP is refused, nothing changed",
      async () => {
        const selector = '"!node-role.kubernetes.io/control-plane"';
        assert.ok(tuned.includes(`selector: ${selector}`), "the shipped plan's worker selector");
        // The full-disk run above began the rotation (its first step failed): what it recorded.
        const progress = () =>
          cluster.kubectl([
            "get",
            "configmap",
            "-n",
            "kube-system",
            "--ignore-not-found",
            "ca-rotator-kubeadm-ha",
            "-o",
            "jsonpath={.data.steps}",
          ]);
        const progressBefore = await progress();
        const refusedWith = async (replacement: string, what: string, message: RegExp) => {
          await Deno.writeTextFile(planPath, tuned.replace(`selector: ${selector}`, replacement));
          try {
            const result = await runCaRotator(cluster.env, ["rotate", "--plan", planPath]);
            assertExit(result, 2, what);
            assert.match(result.stderr, message, what);
            console.log(`${what}: ${result.stderr.trim().split("\n").at(-1)}`);
          } finally {
            await writePlan("trust");
          }
          await assertNoNodeFileChanged(allRoots, filesBefore, what);
          assert.equal(await progress(), progressBefore, `${what}: no progress recorded`);
        };
        const worker3 = cluster.workers[2];
        await refusedWith(
          `selector: "!node-role.kubernetes.io/control-plane,kubernetes.io/hostname!=worker-3"`,
          "a selector that misses worker-3",
          new RegExp(
            `the cluster has a Node the plan does not cover: worker-3 \\(${
              worker3.ip.replaceAll(".", "\\.")
            }\\)`,
          ),
        );
        await refusedWith(
          'selector: "kubernetes.io/os=linux"',
          "a selector that matches the listed control plane",
          /Node "control-plane-1" is listed in nodes\.controlPlane and matched by nodes\.workers\.fromCluster\.selector \("kubernetes\.io\/os=linux"\)/,
        );
        // A Node object no kubelet runs (as `kubectl create` makes it): no address at all.
        await cluster.kubectl(["create", "-f", "-"], {
          stdin: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "bare-1" } }),
        });
        try {
          await refusedWith(
            `selector: ${selector}`,
            "a matched Node without an InternalIP",
            /Node "bare-1" \(matched by nodes\.workers\.fromCluster\.selector .*\) has no InternalIP address \(it has: none\)/,
          );
        } finally {
          await cluster.kubectl(["delete", "node", "bare-1"]);
        }
      },
    );

    const root1 = cluster.nodeRoots[0];
    const oldCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
    const oldFrontProxyCa = await Deno.readTextFile(
      join(root1, "etc/kubernetes/pki/front-proxy-ca.crt"),
    );
    const roundTrips: { phase: string; steps: StepRoundTrips[] }[] = [];
    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    const kubeletsBefore = await kubeletStatuses(cluster);

    // worker-3 comes into the workers' selector mid-rotation, as a Node that joins does: until
    // then a label the plan's exclusion selects keeps it out (exclusions are not digested). One
    // run goes through trust and the switch; it is paused (SIGSTOP) once trust's kubelets are
    // rolled — worker-3's untouched — while the label goes, so the switch's start finds worker-3
    // and its drift re-check brings it to what trust made before anything of the switch changes.
    const late = "ca-rotator.test/late";
    await cluster.kubectl(["label", "node", "worker-3", `${late}=true`]);
    const exclusion = "  exclude:\n" +
      `    - { selector: "${late}=true", reason: "joins mid-rotation (the test)" }\n`;
    const withLate = tuned.replace("\n  exclude: []\n", `\n${exclusion}`);
    assert.notEqual(withLate, tuned, "the plan's exclude: []");
    const writeRotationPlan = (stopAfter: string) =>
      Deno.writeTextFile(
        planPath,
        withLate.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`),
      );
    const phaseOf = new Map(
      [...withLate.matchAll(/^ {2}- id: (\S+)\n {4}phase: (\w+)$/gm)].map((m) => [m[1], m[2]]),
    );
    assert.equal(phaseOf.get("roll-kubelets-trust-bundle"), "trust", "the plan's step phases");
    const stepsOf = (document: { steps: { stepId: string; changes: unknown[] }[] }) =>
      document.steps.map((step) => ({
        stepId: step.stepId,
        onWorker3: JSON.stringify(step.changes).includes('"node":"worker-3"'),
        onlyWorker3: (step.changes as { target: { node?: string } }[])
          .every((change) => change.target.node === "worker-3"),
      }));

    await t.step("trust and switch over ssh with sudo, worker-3 joining between them", async () => {
      await writeRotationPlan("switch");
      const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
      const store = new ConfigMapProgressStore(api, "kubeadm-ha");
      const status = async (step: string) =>
        (await store.load().catch(() => undefined))?.steps[step]?.status;
      const result = await runPausedOnce(cluster.env, [
        "rotate",
        "--plan",
        planPath,
        "--output",
        "json",
      ], {
        until: async () => await status("roll-kubelets-trust-bundle") === "done",
        whilePaused: async () => {
          assert.notEqual(
            await status("verify-trust"),
            "done",
            "paused before the end of trust (else the switch may have begun: no test)",
          );
          await cluster.kubectl(["label", "node", "worker-3", `${late}-`]);
          for (const node of cluster.nodes) {
            assert.ok(await servesChainTo(node.ip, 6443, oldCa), `${node.name}: old CA still`);
          }
        },
      });
      assertExit(result, 0, "rotate (trust and switch)");
      const document = JSON.parse(result.stdout);
      assert.equal(document.outcome, "done");
      for (const phase of ["trust", "switch"]) {
        roundTrips.push({
          phase,
          steps: (document.roundTrips as StepRoundTrips[]).filter((step) =>
            phaseOf.get(step.stepId) === phase
          ),
        });
      }
      assert.match(
        result.stderr,
        /Node worker-3 joined \(nodes\.workers\.fromCluster\): the drift re-check of phase "switch"/,
      );
      const steps = stepsOf(document);
      const rolls = steps.filter((step) => step.stepId === "roll-kubelets-trust-bundle");
      assert.equal(rolls.length, 2, "roll-kubelets-trust-bundle ran in trust, and again");
      assert.equal(rolls[0].onWorker3, false, "trust's roll left worker-3 alone (excluded)");
      assert.ok(rolls[1].onWorker3 && rolls[1].onlyWorker3, "the re-apply: worker-3 alone");
      assert.deepEqual(
        steps.filter((step) => phaseOf.get(step.stepId) === "trust" && step.onWorker3)
          .map((step) => step.stepId),
        ["roll-kubelets-trust-bundle"],
      );
      const drift = (document.drift as {
        phase: string;
        outcome: string;
        findings: { steps: string[]; name: string }[];
      }[]).find((each) => each.phase === "switch");
      const onWorker3 = drift?.findings.filter((finding) => finding.name.startsWith("worker-3:"));
      console.log(`switch: worker-3 found, drift ${drift?.outcome} ${JSON.stringify(onWorker3)}`);
      assert.equal(drift?.outcome, "reapplied");
      assert.ok(onWorker3 && onWorker3.length > 0, "worker-3's files named as the drift");
      assert.ok(
        drift!.findings.every((finding) =>
          finding.name.startsWith("worker-3:") &&
          finding.steps.includes("roll-kubelets-trust-bundle")
        ),
        JSON.stringify(drift!.findings),
      );
    });

    await t.step("finalize over ssh with sudo", async () => {
      await writeRotationPlan("finalize");
      const result = await rotate("rotate (finalize)");
      const document = JSON.parse(result.stdout);
      assert.equal(document.outcome, "done");
      roundTrips.push({ phase: "finalize", steps: document.roundTrips });
    });

    const newCa = await Deno.readTextFile(join(root1, "etc/kubernetes/pki/ca.crt"));
    const counts = await probe.stop();
    probe = undefined;

    await t.step("the end state of the local-driver test", async () => {
      await assertOldCaGone(cluster, { oldCa, oldFrontProxyCa, newCa });
      const nodes = await cluster.kubectlJson<
        {
          items: {
            metadata: { name: string };
            status: { conditions: { type: string; status: string }[] };
          }[];
        }
      >(["get", "nodes"]);
      assert.equal(nodes.items.length, 6);
      for (const node of nodes.items) {
        const ready = node.status.conditions.find((condition) => condition.type === "Ready");
        assert.equal(ready?.status, "True", `${node.metadata.name} Ready`);
      }
      console.log(`probe through haproxy: ${JSON.stringify(counts)}`);
      assert.ok(counts.requests > 100, `the probe ran (${counts.requests} requests)`);
      assert.equal(counts.tlsFailures, 0, `TLS failures (last: ${counts.lastFailure})`);
      assert.equal(counts.unauthorized, 0, `401s (last: ${counts.lastFailure})`);
      assert.equal(counts.notReadyNodes, 0, "every node Ready throughout");
      assertKubeletsKeptTrust(kubeletsBefore, await kubeletStatuses(cluster));
    });

    await t.step("ssh round trips: a few per node per step", () => {
      let total = 0;
      for (const { phase, steps } of roundTrips) {
        assert.ok(steps.length > 0, `${phase}: the summary reports round trips`);
        for (const step of steps) {
          total += step.total;
          console.log(
            `ssh round trips ${phase}/${step.stepId}: ${step.total} ` +
              `(max ${step.maxPerNode} per node) ${JSON.stringify(step.perNode)}`,
          );
        }
      }
      console.log(`ssh round trips, whole rotation: ${total}`);
      for (const { phase, steps } of roundTrips) {
        for (const step of steps) {
          assert.ok(
            step.maxPerNode <= MAX_ROUND_TRIPS_PER_NODE_PER_STEP,
            `${phase}/${step.stepId}: ${step.maxPerNode} round trips on one node ` +
              `(at most ${MAX_ROUND_TRIPS_PER_NODE_PER_STEP}): ${JSON.stringify(step.perNode)}`,
          );
        }
      }
    });

    await t.step("rotating again changes nothing", async () => {
      const before = await nodeFiles(allRoots);
      const again = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(again, 0, "rotate (again)");
      assert.match(again.stderr, /No changes\./);
      await assertNoNodeFileChanged(allRoots, before, "rerun");
      const dry = await caRotator(cluster, ["rotate", "--plan", planPath, "--dry-run"]);
      assertExit(dry, 0, "rotate --dry-run (again)");
      assert.match(dry.stdout, /^No changes\.$/m);
    });

    await t.step(
      "negative control: an API server left on the old CA is seen by the probe and the end state",
      async () => {
        const node = cluster.nodes[1];
        const pki = join(cluster.nodeRoots[1], "etc/kubernetes/pki");
        const backups = join(cluster.nodeRoots[1], "var/lib/ca-rotator/backup/etc/kubernetes/pki");
        const servingCert = join(pki, "apiserver.crt");
        const rotated = await Deno.readTextFile(servingCert);
        // reissue-leaves keeps each leaf's key: the certificate from before the rotation (the
        // oldest backup) still pairs with apiserver.key.
        await Deno.writeTextFile(servingCert, await oldestBackup(backups, "apiserver.crt"));
        const control = startProbe(cluster.endpoint, cluster.kubeconfig);
        try {
          await eventually(
            `${node.name} to serve its old-CA certificate`,
            async () => await servesChainTo(node.ip, 6443, oldCa) || undefined,
          );
          await eventually(
            "the probe to meet the old-CA server",
            () => Promise.resolve(control.counts.tlsFailures > 0 || undefined),
            30_000,
          );
          const seen = await control.stop();
          console.log(`negative control, probe through haproxy: ${JSON.stringify(seen)}`);
          await assert.rejects(
            assertOldCaGone(cluster, { oldCa, oldFrontProxyCa, newCa }),
            new RegExp(`${node.ip.replaceAll(".", "\\.")}: new CA`),
          );
        } finally {
          await control.stop();
          await Deno.writeTextFile(servingCert, rotated);
        }
      },
    );
  } finally {
    await probe?.stop();
    await cluster.stop();
  }
});

/** The content of the oldest backup of `name` in `dir` (backups are `<name>.<UTC stamp>`). */
async function oldestBackup(dir: string, name: string): Promise<string> {
  const stamps: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(`${name}.`)) stamps.push(entry.name);
  }
  assert.ok(stamps.length > 0, `a backup of ${name} in ${dir}`);
  return await Deno.readTextFile(join(dir, stamps.sort()[0]));
}

/**
 * Runs ca-rotator as {@link runCaRotator} does, and pauses it (SIGSTOP) once, as soon as `until`
 * holds (asked every 200 ms), for `whilePaused`; then lets it go on (SIGCONT) to its end.
 */
async function runPausedOnce(
  env: Record<string, string>,
  args: readonly string[],
  hooks: { until: () => Promise<boolean>; whilePaused: () => Promise<void> },
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), ...args],
    cwd: repo,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let ended = false;
  output.then(() => ended = true, () => ended = true);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  let paused = false;
  try {
    while (!ended && !await hooks.until()) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(!ended, "the run ended before the moment to pause it");
    child.kill("SIGSTOP");
    paused = true;
    await hooks.whilePaused();
  } catch (error) {
    // The run is this test's own: stopped (at a safe point) and awaited, its stderr told.
    if (paused) child.kill("SIGCONT");
    if (!ended) child.kill("SIGTERM");
    const { stderr } = await output;
    throw new Error(`${error}\n--- the run's stderr:\n${decode(stderr).slice(-4000)}`);
  }
  if (paused) child.kill("SIGCONT");
  const { code, stdout, stderr } = await output;
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}
