/**
 * Drift on the real control plane (issue 19, item 3): after the trust phase, the real `kubeadm
 * certs renew all` runs on the control-plane node's root, as an operator's renewal between phases
 * would. It rewrites every kubeconfig's certificate-authority-data from ca.crt — the old CA alone —
 * undoing step kubeconfigs-trust-bundle. The switch then re-checks the done steps at its start:
 * it names the drifted kubeconfigs with the step that made them, re-applies that step, and no
 * component is cut off (scheduler and controller-manager healthy, a Deployment created afterwards
 * gets a ready pod). The negative control runs the same with the re-check switched off (the
 * behaviour before it): the switch restarts the scheduler into an API server it no longer
 * trusts, and the harm shows (the switch fails, or a new Deployment never gets a ready pod).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, type TestCluster, withCluster } from "../cluster/harness.ts";
import { kubeadm, KUBEADM_CONFIG_PATH } from "../cluster/kubeadm.ts";
import { runCaRotator, type RunResult } from "./ca_rotator_process.ts";
import { assertExit, base64Body } from "./end_state.ts";
import { kubeconfigCaData } from "../../src/formats/kubeconfig_file.ts";
import { DRIFT_RECHECK_ENV } from "../../src/app/drift_switch.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** The demo plan at `stopAfter`, the scheduler's and controller-manager's waits bounded. */
function planAt(demo: string, stopAfter: string): string {
  return demo.replace(/^stopAfter: trust$/m, `stopAfter: ${stopAfter}`);
}

/** True when a Deployment named `name` has a ready replica within `timeoutMs`. */
async function deploymentReady(
  cluster: TestCluster,
  name: string,
  timeoutMs: number,
): Promise<boolean> {
  await cluster.kubectl([
    "create",
    "deployment",
    name,
    "--image=registry.k8s.io/pause:3.10",
    "--replicas=1",
  ]);
  try {
    await eventually(
      `Deployment ${name} to have a ready pod`,
      async () => {
        const deployment = await cluster.kubectlJson<{ status?: { readyReplicas?: number } }>([
          "get",
          "deployment",
          name,
        ]);
        return (deployment.status?.readyReplicas ?? 0) >= 1;
      },
      timeoutMs,
      1_000,
    );
    return true;
  } catch {
    return false;
  }
}

/** Trust, the real `kubeadm certs renew all` on the node root, then the switch. */
async function trustRenewSwitch(
  cluster: TestCluster,
  recheck: boolean,
  beforeSwitch: (plan: string, env: Record<string, string>) => Promise<void> = async () => {},
): Promise<{ switchRun: RunResult; oldCa: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ca-rotator-drift-" });
  const plan = join(dir, "local-demo.yaml");
  const demo = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
  const env = { ...cluster.env, ...(recheck ? {} : { [DRIFT_RECHECK_ENV]: "off" }) };
  const root = cluster.nodeRoots[0];
  const oldCa = await Deno.readTextFile(join(root, "etc/kubernetes/pki/ca.crt"));

  await Deno.writeTextFile(plan, planAt(demo, "trust"));
  const began = Date.now();
  assertExit(await runCaRotator(env, ["rotate", "--plan", plan]), 0, "trust");
  console.error(`trust took ${Math.round((Date.now() - began) / 1000)} s`);

  const conf = join(root, "etc/kubernetes/controller-manager.conf");
  assert.equal(kubeconfigCaData(await Deno.readTextFile(conf)).length, 1);
  assert.notEqual(
    base64Body(kubeconfigCaData(await Deno.readTextFile(conf))[0]),
    base64Body(oldCa),
    "after trust, controller-manager.conf holds the bundle",
  );
  await kubeadm(cluster.binDir, root, ["certs", "renew", "all", `--config=${KUBEADM_CONFIG_PATH}`]);
  assert.equal(
    base64Body(kubeconfigCaData(await Deno.readTextFile(conf))[0]),
    base64Body(oldCa),
    "kubeadm certs renew all put controller-manager.conf back to the old CA alone",
  );

  await Deno.writeTextFile(plan, planAt(demo, "switch"));
  await beforeSwitch(plan, env);
  const switchBegan = Date.now();
  const switchRun = await runCaRotator(env, ["rotate", "--plan", plan]);
  console.error(
    `switch (re-check ${recheck ? "on" : "off"}) exited ${switchRun.code} after ${
      Math.round((Date.now() - switchBegan) / 1000)
    } s`,
  );
  await Deno.remove(dir, { recursive: true });
  return { switchRun, oldCa };
}

Deno.test({
  name: "drift: kubeadm certs renew all between trust and switch is named, re-applied, and " +
    "nothing is cut off",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await withCluster({ apiServers: 1, nodes: 1 }, async (cluster) => {
    const cp = cluster.nodes[0].name;
    const { switchRun } = await trustRenewSwitch(cluster, true, async (plan, env) => {
      // status names the drift before the switch, in text and -o json, and changes nothing.
      const conf = join(cluster.nodeRoots[0], "etc/kubernetes/scheduler.conf");
      const before = await Deno.readTextFile(conf);
      const text = await runCaRotator(env, ["status", "--plan", plan]);
      assertExit(text, 0, "status");
      assert.match(
        text.stdout,
        new RegExp(
          `drift: /etc/kubernetes/scheduler\\.conf on ${cp} is no longer what step ` +
            "kubeconfigs-trust-bundle made .*; the next run re-applies the step",
        ),
        text.stdout,
      );
      const json = await runCaRotator(env, ["status", "--plan", plan, "-o", "json"]);
      assertExit(json, 0, "status -o json");
      const drift = JSON.parse(json.stdout).drift as {
        checked: boolean;
        findings: { name: string; steps: string[]; action: string }[];
      };
      assert.ok(drift.checked);
      const names = drift.findings.map((finding) => finding.name);
      for (const file of ["controller-manager.conf", "scheduler.conf"]) {
        assert.ok(names.includes(`${cp}:/etc/kubernetes/${file}`), names.join(", "));
      }
      assert.ok(drift.findings.every((finding) => finding.action === "reapply"));
      assert.doesNotMatch(json.stdout, /PRIVATE KEY/, "no key material in the document");
      assert.equal(await Deno.readTextFile(conf), before, "status wrote nothing");
    });
    assertExit(switchRun, 0, "switch with the drift re-check");
    console.error(switchRun.stderr.split("\n").filter((line) => /drift/.test(line)).join("\n"));
    assert.doesNotMatch(switchRun.stderr + switchRun.stdout, /PRIVATE KEY/);
    for (const file of ["controller-manager.conf", "scheduler.conf"]) {
      assert.match(
        switchRun.stderr,
        new RegExp(
          `drift: /etc/kubernetes/${file.replace(".", "\\.")} on ${
            cluster.nodes[0].name
          } .*step kubeconfigs-trust-bundle`,
        ),
        `the drift of ${file} is named with its step:\n${switchRun.stderr.slice(-4000)}`,
      );
    }
    assert.match(switchRun.stderr, /re-appl/, "the step was re-applied");
    for (const component of ["kube-scheduler", "kube-controller-manager"]) {
      const status = await cluster.componentStatus(0, component);
      assert.ok(status.state === "running" && status.ready, `${component} healthy`);
    }
    assert.ok(
      await deploymentReady(cluster, "after-switch", 90_000),
      "a Deployment created after the switch gets a ready pod",
    );
  });
});

Deno.test({
  name: "drift, negative control: without the re-check the switch cuts the scheduler or " +
    "controller-manager off",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await withCluster({ apiServers: 1, nodes: 1 }, async (cluster) => {
    const { switchRun } = await trustRenewSwitch(cluster, false);
    assert.doesNotMatch(switchRun.stderr, /drift: /, "no re-check ran");
    const switchFailed = switchRun.code !== 0 &&
      /kube-scheduler|kube-controller-manager/.test(switchRun.stderr);
    // The harm shows either way: the switch fails waiting for a component, or it passes and a
    // new Deployment never gets a ready pod (no scheduler or controller-manager to make one).
    const podReady = switchFailed ? false : await deploymentReady(cluster, "after-switch", 60_000);
    assert.ok(
      switchFailed || !podReady,
      `the harm did not show: switch exited ${switchRun.code}, new Deployment ready: ${podReady}\n` +
        switchRun.stderr.slice(-3000),
    );
    console.error(
      switchFailed
        ? `harm: the switch failed: ${
          switchRun.stderr.split("\n").filter((line) => /error/.test(line)).slice(-2).join(" | ")
        }`
        : "harm: a Deployment created after the switch never got a ready pod",
    );
  });
});
