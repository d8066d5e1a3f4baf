/**
 * The serving-certificate gate on the test control plane (issue 20): kubelets serve with
 * certificates from kubelet-serving CSRs (old CA), the API servers verify them with
 * `--kubelet-certificate-authority`, a scraper with `kube-root-ca.crt`. API servers (two; three with
 * CA_ROTATOR_API_SERVERS=3) behind the load balancer, which the node-proxy probe goes through.
 *
 * 1. A full rotation (trust → switch → finalize) with `kubelet-serving-gate` after the client gate:
 *    with approval off it holds (exit 3) naming every node still on the old CA (the gate's
 *    control); with approval and forced rotation it gives each kubelet a new-CA serving
 *    certificate — the run that approves is killed (SIGKILL) while the gate holds, and the next
 *    run resumes it. Failures are set against restart windows measured as they happen: each
 *    kubelet's (its port closed, from status.json) and each API server's (its /readyz failing,
 *    polled directly) for failures between the probe and the load balancer. The node proxy and
 *    the scraper see no certificate failure, and no failure of any kind outside a kubelet's own restart window (its serving port closed from the restart until
 *    it listens again, as each kubelet reports it: a real kubelet's restart closes its port too).
 *    The switch's API-server restarts put each node's re-issued files in place while its API
 *    server is down (reissue-leaves `restart`); the node-proxy failures CI saw on connections
 *    the API server itself had closed ("use of closed network connection") count as any other.
 * 1b. Why: on the API server of control-plane-1, a new kubelet connection leaves the others
 *    open; once its kubelet client certificate is re-issued in place while it runs, the next new
 *    kubelet connection closes them all, and the request that made it fails.
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
  type ServingFailure,
  type ServingProbe,
  startServingProbe,
} from "./kubelet_serving_probe.ts";
import {
  failuresByWindow,
  type RestartWindow,
  restartWindows,
  windowFigures,
} from "./kubelet_restart_windows.ts";
import { type KillPoint, pointName, runUntilKilled } from "./kill_at_event.ts";
import { watchApiServerReadiness } from "./api_server_readiness.ts";
import { kubeletConnectionReset } from "./kubelet_connection_reset.ts";
import {
  gateStep,
  serveWithOldCa,
  SERVING_CLUSTER,
  servingPlan,
} from "./kubelet_serving_fixture.ts";

/** Inside the gate of the approving run: its first wait line (held, before it forces). */
const GATE_KILL_POINT: KillPoint = { step: "kubelet-serving-gate", type: "Waiting", k: 1 };

/** The node proxy's failures between the probe and the API servers (the load balancer's side). */
const BETWEEN_PROBE_AND_API = ["connection", "apiUnavailable"];

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
    "forces new ones; the node proxy and a scraper fail only inside restarts; " +
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
    const readiness = watchApiServerReadiness(cluster.nodeRoots[0], cluster.nodes);
    let apiWindows: RestartWindow[] = [];
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
      // A crash while the gate holds: SIGKILL at its first wait line; the next run resumes the
      // step and converges.
      const killed = await runUntilKilled(cluster.env, plan, [GATE_KILL_POINT]);
      assert.ok(
        killed.killedAt,
        `the run reached the gate (exit ${killed.code}):\n${killed.stderr}`,
      );
      assert.equal(killed.code, 137, "the run killed inside the gate died of SIGKILL");
      console.log(`killed at ${pointName(GATE_KILL_POINT)}, after ${killed.lastLine}`);
      const done = await caRotator(cluster, ["rotate", "--plan", plan]);
      for (
        const [what, text] of [
          ["held", held.stderr + held.stdout],
          ["dry run", dry.stderr + dry.stdout],
          ["killed run", killed.stderr],
          ["resumed run", done.stderr + done.stdout],
        ] as const
      ) {
        const lines = text.split("\n").filter((l) => l.includes("[kubelet-serving-gate]"));
        console.log(`${what}:\n${lines.join("\n").slice(0, 4000)}`);
      }
      assertExit(done, 0, "rotate resumed with the gate approving and forcing");
      assert.match(
        done.stderr + done.stdout,
        /\[kubelet-serving-gate\] every kubelet serves with a certificate of the new CA/,
      );
      // Each node's forced certificate, installed by the killed run or by the resumed one.
      const out = killed.stderr + done.stderr + done.stdout;
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
      apiWindows = await readiness.stop();
      await printKubeletLogs(cluster, nodes);
      printCounts("node proxy", probe.proxy);
      printCounts("scraper (kube-root-ca.crt)", probe.scraper);
    }
    const windows = restartWindows(await kubeletStatuses(cluster))
      .filter((w) => w.to >= rotationStarted);
    console.log(`kubelet restart windows (port closed): ${windowFigures(windows)}`);
    console.log(`API server restart windows (/readyz failing): ${windowFigures(apiWindows)}`);
    // Failures between the probe and the API servers (through the load balancer) are set against
    // the API servers' restarts; every other failure against its own kubelet's restarts.
    const atApi = (f: ServingFailure) => BETWEEN_PROBE_AND_API.includes(f.kind);
    const sorted = [
      ["node proxy, at the kubelets", probe.proxy.failureLog.filter((f) => !atApi(f)), windows],
      ["scraper", probe.scraper.failureLog, windows],
      ["node proxy, at the API servers", probe.proxy.failureLog.filter(atApi), apiWindows],
    ] as const;
    for (const [what, failures, spans] of sorted) {
      const { inside, outside } = failuresByWindow(failures, spans, spans === apiWindows);
      console.log(
        `${what}: inside the restart windows ${JSON.stringify(inside)}; outside ` +
          `${outside.length}${outside.length ? ":\n" : ""}` +
          outside.map((f) =>
            `  ${f.kind} ${new Date(f.startedAt).toISOString()}+${f.endedAt - f.startedAt}ms ` +
            f.message
          ).join("\n"),
      );
      assert.equal(outside.length, 0, `${what}: no failure outside the restarts`);
    }
    assert.equal(probe.proxy.failures.kubeletTls ?? 0, 0, "no kubelet certificate refused");
    assert.equal(probe.proxy.failures.apiTls ?? 0, 0, "no API server certificate refused");
    assert.equal(probe.scraper.failures.tls ?? 0, 0, "the scraper trusts every kubelet");
    assert.ok(probe.proxy.ok > 0 && probe.scraper.ok > 0);

    // ── Why reissue-leaves restarts the API servers with their files put in place while they
    // are down: a running API server whose kubelet client certificate changes on disk closes
    // every kubelet connection at its next kubelet handshake (the failures of b1fdd93) ──
    const [kept, fresh, last] = nodes.map((node) => node.name).reverse();
    const reset = await kubeletConnectionReset(cluster, [kept, fresh, last]);
    console.log(
      `${cluster.nodes[0].name}'s API server, its kubelet connections: ` +
        JSON.stringify(reset),
    );
    const peer = (name: string) => {
      const node = nodes.find((each) => each.name === name)!;
      return `${node.address}:${node.port}`;
    };
    assert.ok(reset.before.some((c) => c.endsWith(`->${peer(kept)}`)), `a connection to ${kept}`);
    assert.deepEqual(
      reset.before.filter((c) => !reset.afterNewConnection.includes(c)),
      [],
      "a new kubelet connection, the certificate file unchanged, leaves the others open",
    );
    assert.deepEqual(
      reset.afterNewConnection.filter((c) => reset.afterReissue.includes(c)),
      [],
      "after the certificate file changed, the next kubelet connection closed them all",
    );
    assert.match(
      reset.answers[2],
      /closed network connection|EOF|reset/,
      "the request that made the next kubelet connection failed with them",
    );

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
