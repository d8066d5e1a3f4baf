/**
 * The serving-certificate gate on the test control plane (issue 20): kubelets serve with
 * certificates from kubelet-serving CSRs (old CA), the API server verifies them with
 * `--kubelet-certificate-authority`, a scraper with `kube-root-ca.crt`. A full rotation
 * (trust → switch → finalize) with `kubelet-serving-gate` after the client gate: with approval
 * off it holds (exit 3) naming every node still on the old CA (the gate's control); with approval
 * and forced rotation it gives each kubelet a new-CA serving certificate, and the node proxy and
 * the scraper see no certificate failure through the whole rotation (restarts of the one API
 * server and of the kubelets refuse connections for a moment: counted by kind, printed). The harm the gate prevents is shown by
 * kubelet_serving_no_gate_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withCluster } from "../cluster/harness.ts";
import { assertExit, caRotator } from "./end_state.ts";
import {
  failuresBut,
  kubeRootCaReader,
  RESTART_KINDS,
  startServingProbe,
} from "./kubelet_serving_probe.ts";
import {
  gateStep,
  serveWithOldCa,
  SERVING_CLUSTER,
  servingPlan,
} from "./kubelet_serving_fixture.ts";
import { eventually } from "../cluster/harness.ts";

Deno.test({
  name: "kubelet-serving-gate: held while kubelets serve old-CA certificates, then approves and " +
    "forces new ones; the node proxy and a scraper see no certificate failure through the rotation",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const started = Date.now();
  await withCluster(
    SERVING_CLUSTER,
    async (cluster) => {
      const nodes = await serveWithOldCa(cluster);
      const root = cluster.nodeRoots[0];
      const probe = startServingProbe(root, nodes, kubeRootCaReader(root));
      try {
        await eventually(
          "both clients to reach every node",
          () => Promise.resolve(probe.proxy.ok >= nodes.length && probe.scraper.ok >= nodes.length),
          60_000,
        );
        // The first answers may precede the kubelets' certificates: count from here.
        for (const counts of [probe.proxy, probe.scraper]) {
          Object.assign(counts, { requests: 0, ok: 0, failures: {}, lastError: {} });
        }
        const dir = await Deno.makeTempDir({ prefix: "ca-rotator-serving-" });

        // The gate's control: approval off, the kubelets on old-CA certificates → held.
        const plan = await servingPlan(dir, gateStep("approveServingCsrs: false"));
        const held = await caRotator(cluster, ["rotate", "--plan", plan]);
        assertExit(held, 3, "rotate with the gate and no approval");
        for (const node of nodes) {
          assert.match(
            held.stderr + held.stdout,
            // On disk when the endpoint is down a moment: the client gate restarted the kubelet.
            new RegExp(`${node.name} \\(serving certificate of the old CA (presented on|on disk)`),
          );
        }
        assert.match(held.stderr + held.stdout, /\[kubelet-serving-gate\] gate closed: 2 of 2/);
        console.log(`held at the gate after ${Math.round((Date.now() - started) / 1000)} s`);

        // Approval and forced rotation (tuning fields: the held step may change them).
        await servingPlan(
          dir,
          gateStep("approveServingCsrs: true\nforceRotation: true\nwait: 2m"),
        );
        // The dry run says what the gate would check, and that it would hold now.
        const dry = await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run"]);
        assertExit(dry, 0, "rotate --dry-run at the gate");
        assert.match(
          dry.stderr + dry.stdout,
          /\[kubelet-serving-gate\] the gate would hold now \(until forced rotations\): 2 of 2/,
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
        // A few more rounds on the end state: kube-root-ca.crt and the API server new-CA only.
        const after = probe.proxy.requests;
        await eventually(
          "more probe rounds after finalize",
          () => Promise.resolve(probe.proxy.requests >= after + 6 * nodes.length),
          60_000,
        );
      } finally {
        const counts = await probe.stop();
        for (const node of nodes) {
          const log = await Deno.readTextFile(
            join(cluster.rootOf(node.name), "var/log/kubelet.log"),
          ).catch(() => "");
          const lines = log.split("\n").filter((l) =>
            /restart|serving|panic|listen|fatal|certificate|error/i.test(l)
          );
          console.log(
            `${node.name} kubelet log (${lines.length} lines):\n${lines.slice(-25).join("\n")}`,
          );
        }
        console.log(
          `node proxy: ${counts.proxy.requests} requests, ${counts.proxy.ok} ok, failures ` +
            `${JSON.stringify(counts.proxy.failures)} ${JSON.stringify(counts.proxy.lastError)}`,
        );
        console.log(
          `scraper (kube-root-ca.crt): ${counts.scraper.requests} requests, ${counts.scraper.ok} ` +
            `ok, failures ${JSON.stringify(counts.scraper.failures)} ` +
            JSON.stringify(counts.scraper.lastError),
        );
      }
      // Restarts (one API server; kubelets rolled and forced) refuse connections for a moment;
      // no request may fail on a certificate, nor in any other way.
      assert.equal(probe.proxy.failures.kubeletTls ?? 0, 0, "no kubelet certificate refused");
      assert.equal(probe.scraper.failures.tls ?? 0, 0, "the scraper trusts every kubelet");
      assert.equal(failuresBut(probe.proxy, RESTART_KINDS), 0, "node proxy: nothing else");
      assert.equal(failuresBut(probe.scraper, ["connection"]), 0, "scraper: nothing else");
      assert.ok(probe.proxy.ok > 0 && probe.scraper.ok > 0);
      console.log(`test took ${Math.round((Date.now() - started) / 1000)} s`);
    },
  );
});
