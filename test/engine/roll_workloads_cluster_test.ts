/**
 * roll-workloads on a real control plane: a rolling window of Deployments and a DaemonSet on
 * kwok workers, each workload rolled with one PATCH and awaited through one shared watch (the API
 * server's own request counts say so); a rollout that cannot finish stops new starts, and the
 * error names it; the dry run sends no per-object request.
 */
import assert from "node:assert/strict";
import { startCluster } from "../cluster/harness.ts";
import { countRequests, readRequestTotals, requestDelta } from "../cluster/api_metrics.ts";
import { KubeClusterApi } from "../../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { OverlayClusterApi } from "../../src/engine/overlay_cluster.ts";
import type { ClusterApi } from "../../src/engine/cluster_api.ts";
import { memoryPrinter } from "../../src/engine/printer.ts";
import type { StepContext } from "../../src/engine/step.ts";
import { LayoutSchema } from "../../src/plan/layout.ts";
import { rollWorkloads } from "../../src/steps/roll_workloads.ts";
import { ROLLED_BY_ANNOTATION } from "../../src/steps/_annotations.ts";

const NAMESPACES = ["roll-a", "roll-b"];
const PER_NAMESPACE = 6;

function manifests(): string {
  const items: unknown[] = NAMESPACES.map((name) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  }));
  const template = (app: string, extra: Record<string, unknown> = {}) => ({
    metadata: { labels: { app } },
    spec: { containers: [{ name: "app", image: `registry.example/${app}:1` }], ...extra },
  });
  for (const namespace of NAMESPACES) {
    for (let i = 1; i <= PER_NAMESPACE; i++) {
      const app = `web-${i}`;
      items.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace },
        spec: { replicas: 1, selector: { matchLabels: { app } }, template: template(app) },
      });
    }
  }
  items.push({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "roll-a" },
    spec: { selector: { matchLabels: { app: "agent" } }, template: template("agent") },
  });
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

function context(cluster: ClusterApi, stepId: string, dryRun = false) {
  const log = memoryPrinter();
  const ctx: StepContext = {
    stepId,
    dryRun,
    layout: LayoutSchema.parse({ preset: "kubeadm" }),
    workloads: {
      kinds: ["Deployment", "DaemonSet"],
      namespaces: { include: NAMESPACES, exclude: [] },
      batchSize: 3,
      timeoutSeconds: 120,
      order: ["roll-a"],
    },
    planDir: ".",
    rotationStartedAt: new Date(),
    controlPlane: [],
    workers: [],
    cluster,
    cas: {
      get: () => {
        throw new Error("no CA material in this test");
      },
      fingerprints: () => ({ cluster: "ab".repeat(32) }),
    },
    log,
    waitFor: () => Promise.resolve(),
    progress: () => {},
  };
  return { ctx, log };
}

async function runStep(ctx: StepContext, step: Parameters<typeof rollWorkloads.observe>[1]) {
  const changes = rollWorkloads.diff(await rollWorkloads.observe(ctx, step), step);
  if (changes.length > 0) await rollWorkloads.apply(ctx, step, changes);
  if (!ctx.dryRun) await rollWorkloads.verify(ctx, step);
  return changes;
}

Deno.test({
  name: "roll-workloads on a real API server: a rolling window, one PATCH per workload",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 2 });
  try {
    const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
    await cluster.kubectl(["apply", "-f", "-"], { stdin: manifests() });
    for (const namespace of NAMESPACES) {
      await cluster.kubectl([
        "wait",
        "--for=condition=Available",
        "deployment",
        "--all",
        "-n",
        namespace,
        "--timeout=180s",
      ]);
    }
    const workloads = NAMESPACES.length * PER_NAMESPACE + 1;
    const step = {
      id: "roll-test",
      phase: "trust" as const,
      kind: "roll-workloads" as const,
    };

    await t.step("a dry run lists and sends no request per workload", async () => {
      const overlay = new OverlayClusterApi(
        api,
        new KubeClusterApi(api.kubeConfig, {
          serverDryRun: true,
        }),
      );
      const before = await readRequestTotals(cluster.kubectl);
      const { ctx } = context(overlay, step.id, true);
      const changes = await runStep(ctx, step);
      const after = await readRequestTotals(cluster.kubectl);
      assert.equal(changes.length, workloads);
      const apps = requestDelta(before, after, "verb", { group: "apps", component: "apiserver" });
      assert.deepEqual(Object.keys(apps).filter((verb) => verb !== "LIST" && verb !== "WATCH"), []);
      const listed = await overlay.list("apps/v1", "Deployment", { namespace: "roll-b" });
      assert.ok(
        listed.every((item) =>
          (item.spec as { template: { metadata: { annotations: Record<string, string> } } })
            .template.metadata.annotations[ROLLED_BY_ANNOTATION] === step.id
        ),
        "the overlay shows the annotations the roll would set",
      );
      const live = await api.list("apps/v1", "Deployment", { namespace: "roll-b" });
      assert.ok(live.every((item) => !JSON.stringify(item).includes(ROLLED_BY_ANNOTATION)));
    });

    await t.step("every workload rolled; ≤ 3 requests per workload beyond the watch", async () => {
      const before = await readRequestTotals(cluster.kubectl);
      const { ctx, log } = context(api, step.id);
      const started = Date.now();
      await runStep(ctx, step);
      const after = await readRequestTotals(cluster.kubectl);
      for (const namespace of NAMESPACES) {
        const names = await cluster.kubectl([
          "get",
          "deployments,daemonsets",
          "-n",
          namespace,
          "-o",
          `jsonpath={range .items[*]}{.spec.template.metadata.annotations.ca-rotator\\.dev/rolled-by}{" "}{end}`,
        ]);
        assert.equal(
          names.trim().split(" ").filter((name) => name === step.id).length,
          namespace === "roll-a" ? PER_NAMESPACE + 1 : PER_NAMESPACE,
        );
      }
      const ours = { group: "apps", component: "apiserver" };
      const patches = countRequests(after, { ...ours, verb: "PATCH" }) -
        countRequests(before, { ...ours, verb: "PATCH" });
      const gets = countRequests(after, { ...ours, verb: "GET" }) -
        countRequests(before, { ...ours, verb: "GET" });
      assert.equal(patches, workloads, "one PATCH per workload");
      assert.equal(gets, 0, "no GET per workload");
      assert.ok(log.lines.some((line) => line.includes(`rolled ${workloads}/${workloads}`)));
      console.error(`rolled ${workloads} workloads in ${Date.now() - started} ms`);
    });

    await t.step("a second run rolls nothing: the annotations say it is done", async () => {
      const { ctx } = context(api, step.id);
      assert.equal((await runStep(ctx, step)).length, 0);
    });

    await t.step("a rollout that cannot finish stops new starts and is named", async () => {
      // the rolled pods cannot be scheduled; the old one stays: the rollout fails at its deadline
      for (const namespace of NAMESPACES) {
        for (let i = 1; i <= PER_NAMESPACE; i++) {
          await cluster.kubectl([
            "patch",
            "deployment",
            `web-${i}`,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            JSON.stringify({
              spec: {
                progressDeadlineSeconds: 3,
                strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                ...(namespace === "roll-a" && i === 1
                  ? { template: { spec: { nodeSelector: { "no-such-node": "true" } } } }
                  : {}),
              },
            }),
          ]);
        }
      }
      await cluster.kubectl([
        "wait",
        "--for=condition=Progressing=False",
        "deployment/web-1",
        "-n",
        "roll-a",
        "--timeout=60s",
      ]);
      const { ctx } = context(api, "roll-stuck");
      const stuckStep = { ...step, id: "roll-stuck", batchSize: 1 };
      await assert.rejects(
        () => runStep(ctx, stuckStep),
        (error: Error) => {
          assert.match(error.message, /1 of 13 rollouts did not complete; 12 not started/);
          assert.match(error.message, /Deployment\/roll-a\/web-1/);
          return true;
        },
      );
      const rolledB = await cluster.kubectl([
        "get",
        "deployments",
        "-n",
        "roll-b",
        "-o",
        `jsonpath={range .items[*]}{.spec.template.metadata.annotations.ca-rotator\\.dev/rolled-by}{" "}{end}`,
      ]);
      assert.doesNotMatch(rolledB, /roll-stuck/, "nothing after the failure was started");
    });
  } finally {
    await cluster.stop();
  }
});
