/**
 * The serving-certificate gate on the test control plane (issue 20): kubelets serve with
 * certificates from kubelet-serving CSRs (old CA), the API servers verify them with
 * `--kubelet-certificate-authority`, a scraper with `kube-root-ca.crt`. Three API servers behind
 * the load balancer, which the node-proxy probe goes through.
 *
 * 1. A full rotation (trust → switch → finalize) with `kubelet-serving-gate` after the client gate:
 *    with approval off it holds (exit 3) naming every node still on the old CA (the gate's
 *    control); with approval and forced rotation it gives each kubelet a new-CA serving
 *    certificate. The node proxy and the scraper see no certificate failure, and no failure of any
 *    kind outside a kubelet's own restart window (its serving port closed from the restart until
 *    it listens again, as each kubelet reports it: a real kubelet's restart closes its port too).
 * 2. The negative control, a second rotation of the same cluster without the gate: it completes,
 *    and once its finalize leaves the new CA alone in `--kubelet-certificate-authority` and
 *    `kube-root-ca.crt`, the node proxy (logs, exec) and the scraper fail on every kubelet, which
 *    still serves the certificate of the first rotation's CA.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, type TestCluster, withCluster } from "../cluster/harness.ts";
import { loadKubeconfigCredentials } from "../cluster/kubeconfig_credentials.ts";
import { assertExit, caRotator, kubeletStatuses } from "./end_state.ts";
import {
  kubeRootCaReader,
  type ProbedNode,
  type ServingCounts,
  type ServingProbe,
  startServingProbe,
} from "./kubelet_serving_probe.ts";
import { failuresByWindow, restartWindows, windowFigures } from "./kubelet_restart_windows.ts";
import {
  gateStep,
  serveWithOldCa,
  SERVING_CLUSTER,
  servingPlan,
} from "./kubelet_serving_fixture.ts";

const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;

/** Starts both probes and waits until each has reached every node; counts from there. */
async function probeFromNow(cluster: TestCluster, nodes: ProbedNode[]): Promise<ServingProbe> {
  const root = cluster.nodeRoots[0];
  const probe = startServingProbe(root, nodes, kubeRootCaReader(root));
  await eventually(
    "both clients to reach every node",
    () => Promise.resolve(probe.proxy.ok >= nodes.length && probe.scraper.ok >= nodes.length),
    60_000,
  );
  // The first answers may precede the kubelets' certificates: count from here.
  for (const counts of [probe.proxy, probe.scraper]) {
    Object.assign(counts, { requests: 0, ok: 0, failures: {}, lastError: {}, failureLog: [] });
  }
  return probe;
}

function printCounts(what: string, counts: ServingCounts) {
  console.log(
    `${what}: ${counts.requests} requests, ${counts.ok} ok, failures ` +
      `${JSON.stringify(counts.failures)} ${JSON.stringify(counts.lastError)}`,
  );
}

async function printKubeletLogs(cluster: TestCluster, nodes: ProbedNode[]) {
  for (const node of nodes) {
    const log = await Deno.readTextFile(join(cluster.rootOf(node.name), "var/log/kubelet.log"))
      .catch(() => "");
    const lines = log.split("\n").filter((l) =>
      /restart|serving|panic|listen|fatal|duplicate/i.test(l)
    );
    console.log(
      `${node.name} kubelet log (${lines.length} lines):\n${lines.slice(-12).join("\n")}`,
    );
  }
}

Deno.test({
  name: "kubelet-serving-gate: held while kubelets serve old-CA certificates, then approves and " +
    "forces new ones; the node proxy and a scraper fail only inside the kubelets' restarts; " +
    "without the gate a second rotation breaks both",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const started = Date.now();
  await withCluster(SERVING_CLUSTER, async (cluster) => {
    const nodes = await serveWithOldCa(cluster);
    const admin = await loadKubeconfigCredentials(
      cluster.nodeRoots[0],
      "/etc/kubernetes/admin.conf",
    );
    assert.equal(
      new URL(admin.server).origin,
      new URL(cluster.endpoint).origin,
      "probe via the LB",
    );
    console.log(`cluster ready after ${seconds(started)}; node proxy through ${admin.server}`);
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-serving-" });

    // ── 1. The rotation with the gate ──
    let probe = await probeFromNow(cluster, nodes);
    const rotationStarted = Date.now();
    try {
      // The gate's control: approval off, the kubelets on old-CA certificates → held.
      const plan = await servingPlan(dir, gateStep("approveServingCsrs: false"));
      const held = await caRotator(cluster, ["rotate", "--plan", plan]);
      assertExit(held, 3, "rotate with the gate and no approval");
      for (const node of nodes) {
        assert.match(
          held.stderr + held.stdout,
          // On disk when the endpoint is closed a moment: the client gate restarted the kubelet.
          new RegExp(`${node.name} \\(serving certificate of the old CA (presented on|on disk)`),
        );
      }
      assert.match(
        held.stderr + held.stdout,
        new RegExp(`\\[kubelet-serving-gate\\] gate closed: ${nodes.length} of ${nodes.length}`),
      );
      console.log(`held at the gate after ${seconds(rotationStarted)}`);

      // Approval and forced rotation (tuning fields: the held step may change them).
      await servingPlan(dir, gateStep("approveServingCsrs: true\nforceRotation: true\nwait: 2m"));
      // The dry run says what the gate would check, and that it would hold now.
      const dry = await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run"]);
      assertExit(dry, 0, "rotate --dry-run at the gate");
      assert.match(
        dry.stderr + dry.stdout,
        new RegExp(
          "\\[kubelet-serving-gate\\] the gate would hold now \\(until forced rotations\\): " +
            `${nodes.length} of ${nodes.length}`,
        ),
      );
      const done = await caRotator(cluster, ["rotate", "--plan", plan]);
      for (const [what, run] of [["held", held], ["dry run", dry], ["run", done]] as const) {
        const lines = (run.stderr + run.stdout).split("\n")
          .filter((l) => l.includes("[kubelet-serving-gate]"));
        console.log(`${what}:\n${lines.join("\n").slice(0, 4000)}`);
      }
      assertExit(done, 0, "rotate with the gate approving and forcing");
      const out = done.stderr + done.stdout;
      for (const node of nodes) {
        assert.match(
          out,
          new RegExp(`approved kubelet-serving CSR ca-rotator-serving-${node.name}-`),
        );
        assert.match(
          out,
          new RegExp(`${node.name}: installed /var/lib/kubelet/pki/kubelet-server-`),
        );
      }
      console.log(`rotation with the gate done after ${seconds(rotationStarted)}`);
      // A few more rounds on the end state: kube-root-ca.crt and the API servers new-CA only.
      const after = probe.proxy.requests;
      await eventually(
        "more probe rounds after finalize",
        () => Promise.resolve(probe.proxy.requests >= after + 6 * nodes.length),
        60_000,
      );
    } finally {
      await probe.stop();
      await printKubeletLogs(cluster, nodes);
      printCounts("node proxy", probe.proxy);
      printCounts("scraper (kube-root-ca.crt)", probe.scraper);
    }
    const windows = restartWindows(await kubeletStatuses(cluster))
      .filter((w) => w.to >= rotationStarted);
    console.log(`kubelet restart windows (port closed): ${windowFigures(windows)}`);
    for (
      const [what, counts] of [["node proxy", probe.proxy], ["scraper", probe.scraper]] as const
    ) {
      const { inside, outside } = failuresByWindow(counts.failureLog, windows);
      console.log(
        `${what}: inside the kubelets' restart windows ${JSON.stringify(inside)}; outside ` +
          `${outside.length}${outside.length ? ":\n" : ""}` +
          outside.map((f) =>
            `  ${f.kind} ${new Date(f.startedAt).toISOString()}+${f.endedAt - f.startedAt}ms ` +
            f.message
          ).join("\n"),
      );
      assert.equal(outside.length, 0, `${what}: no failure outside the kubelets' restarts`);
    }
    assert.equal(probe.proxy.failures.kubeletTls ?? 0, 0, "no kubelet certificate refused");
    assert.equal(probe.proxy.failures.apiTls ?? 0, 0, "no API server certificate refused");
    assert.equal(probe.scraper.failures.tls ?? 0, 0, "the scraper trusts every kubelet");
    assert.ok(probe.proxy.ok > 0 && probe.scraper.ok > 0);

    // ── 2. The negative control: a second rotation, without the gate ──
    probe = await probeFromNow(cluster, nodes);
    const controlStarted = Date.now();
    try {
      const plan = await servingPlan(dir, undefined, "no-serving-gate");
      const done = await caRotator(cluster, ["rotate", "--plan", plan]);
      assertExit(done, 0, "rotate without the serving gate");
      console.log(`rotation without the gate done after ${seconds(controlStarted)}`);
      await eventually(
        "the node proxy and the scraper to fail on every node",
        () =>
          Promise.resolve(
            (probe.proxy.failures.kubeletTls ?? 0) >= 2 * nodes.length &&
              (probe.scraper.failures.tls ?? 0) >= 2 * nodes.length,
          ),
        60_000,
      );
    } finally {
      await probe.stop();
      printCounts("without the gate: node proxy", probe.proxy);
      printCounts("without the gate: scraper (kube-root-ca.crt)", probe.scraper);
    }
    assert.match(
      probe.proxy.lastError.kubeletTls ?? "",
      /certificate|x509/,
      "the API server refuses the kubelet's certificate of the first rotation's CA",
    );
    for (const node of nodes) {
      assert.ok(
        probe.proxy.failureLog.some((f) => f.kind === "kubeletTls" && f.node === node.name),
        `${node.name}: the node proxy fails on its certificate`,
      );
    }
    console.log(`test took ${seconds(started)}`);
  });
});
