/**
 * The negative control of the serving-certificate gate: the same rotation without
 * `kubelet-serving-gate` completes (nothing in the plan checks the kubelets' serving
 * certificates), and once finalize has made the API server's `--kubelet-certificate-authority`
 * and `kube-root-ca.crt` the new CA alone, the node proxy (logs, exec) and the scraper fail on
 * every kubelet, which still serves its old-CA certificate; the probes see it.
 */
import assert from "node:assert/strict";
import { eventually, withCluster } from "../cluster/harness.ts";
import { assertExit, caRotator } from "./end_state.ts";
import { kubeRootCaReader, startServingProbe } from "./kubelet_serving_probe.ts";
import { serveWithOldCa, SERVING_CLUSTER, servingPlan } from "./kubelet_serving_fixture.ts";

Deno.test({
  name: "without kubelet-serving-gate, finalize breaks the node proxy and the scraper",
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
        const dir = await Deno.makeTempDir({ prefix: "ca-rotator-serving-" });
        const plan = await servingPlan(dir, undefined);
        const done = await caRotator(cluster, ["rotate", "--plan", plan]);
        assertExit(done, 0, "rotate without the serving gate");
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
        const counts = await probe.stop();
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
      assert.match(
        probe.proxy.lastError.kubeletTls ?? "",
        /certificate|x509/,
        "the API server refuses the kubelet's old-CA certificate",
      );
      console.log(`test took ${Math.round((Date.now() - started) / 1000)} s`);
    },
  );
});
