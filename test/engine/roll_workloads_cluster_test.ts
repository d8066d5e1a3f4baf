/**
 * roll-workloads on a real control plane: a rolling window of Deployments and a DaemonSet on
 * kwok workers, each workload rolled with one PATCH and awaited through one shared watch (the API
 * server's own request counts say so); a rollout that cannot finish stops new starts, and the
 * error names it; the dry run sends no per-object request, and its steps list each kind once. The adaptive window grows while
 * rollouts complete healthy (every one completes), and Deployments that never become available
 * mid-roll stop new starts with at most the window's size then in flight.
 */
import assert from "node:assert/strict";
import { startCluster } from "../cluster/harness.ts";
import { countRequests, readRequestTotals, requestDelta } from "../cluster/api_metrics.ts";
import { KubeClusterApi } from "../../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { OverlayClusterApi } from "../../src/engine/overlay_cluster.ts";
import type { ClusterApi, KubeObject } from "../../src/engine/cluster_api.ts";
import { ListOnceClusterApi } from "../../src/engine/list_once_cluster.ts";
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

/** The `rolled-by` annotation of every Deployment and DaemonSet of `namespace`. */
async function rolledBy(
  cluster: Awaited<ReturnType<typeof startCluster>>,
  namespace: string,
): Promise<string[]> {
  const names = await cluster.kubectl([
    "get",
    "deployments,daemonsets",
    "-n",
    namespace,
    "-o",
    `jsonpath={range .items[*]}{.spec.template.metadata.annotations.ca-rotator\\.dev/rolled-by}{" "}{end}`,
  ]);
  return names.trim().split(" ");
}

/** The window sizes a step's log printed, in order: `window 1 → 2: …` gives 2. */
function windowSizes(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = line.match(/^window \d+ → (\d+): /);
    return match ? [Number(match[1])] : [];
  });
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

    await t.step("a dry run of two rolls lists the workloads once, not once a step", async () => {
      const second = { ...step, id: "roll-test-again" };
      /** Both rolls dry-run on `base`: their changes and the apps LISTs the API server served. */
      const twoRolls = async (base: ClusterApi) => {
        const overlay = new OverlayClusterApi(
          base,
          new KubeClusterApi(api.kubeConfig, { serverDryRun: true }),
        );
        const before = await readRequestTotals(cluster.kubectl);
        const first = await runStep(context(overlay, step.id, true).ctx, step);
        const then = await runStep(context(overlay, second.id, true).ctx, second);
        const after = await readRequestTotals(cluster.kubectl);
        const lists = requestDelta(before, after, "resource", {
          group: "apps",
          verb: "LIST",
          component: "apiserver",
        });
        return { first, then, overlay, lists };
      };
      const once = await twoRolls(new ListOnceClusterApi(api));
      assert.equal(once.first.length, workloads);
      assert.equal(once.then.length, workloads, "the second roll rolls them again");
      assert.deepEqual(once.lists, { deployments: 1, daemonsets: 1 }, "one LIST of each kind");
      // Negative control: without it, every step lists again.
      const each = await twoRolls(api);
      assert.deepEqual(each.lists, { deployments: 2, daemonsets: 2 }, "a LIST per step");
      // What a later step reads still has the earlier steps' changes laid over it.
      const listed = await once.overlay.list<{ spec?: { template?: KubeObject } } & KubeObject>(
        "apps/v1",
        "Deployment",
        { namespace: "roll-b" },
      );
      assert.ok(
        listed.every((item) =>
          item.spec?.template?.metadata?.annotations?.[ROLLED_BY_ANNOTATION] === second.id
        ),
      );
      // A step that changed what it was given would change what later steps read: it fails.
      const reads = new ListOnceClusterApi(api);
      const [kept] = await reads.list("apps/v1", "Deployment", { namespace: "roll-a" });
      assert.throws(() => {
        (kept.metadata as { name?: string }).name = "changed";
      }, TypeError);
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

    await t.step(
      "an adaptive window grows while rollouts complete healthy; every one completes",
      async () => {
        const adaptive = {
          ...step,
          id: "roll-adaptive",
          window: "adaptive" as const,
          windowStart: 1,
          batchSize: 4,
        };
        const { ctx, log } = context(api, adaptive.id);
        const started = Date.now();
        await runStep(ctx, adaptive);
        for (const namespace of NAMESPACES) {
          assert.equal(
            (await rolledBy(cluster, namespace)).filter((name) => name === adaptive.id).length,
            namespace === "roll-a" ? PER_NAMESPACE + 1 : PER_NAMESPACE,
          );
        }
        const sizes = windowSizes(log.lines);
        assert.deepEqual(sizes.slice(0, 3), [2, 3, 4], log.lines.join("\n"));
        assert.ok(sizes.every((size) => size <= 4), "never above batchSize");
        assert.ok(log.lines.includes(`rolled ${workloads}/${workloads} workloads`));
        console.error(
          `adaptive: rolled ${workloads} workloads in ${Date.now() - started} ms; window ${
            sizes.join(", ")
          }`,
        );
      },
    );

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

    await t.step(
      "Deployments that never become available mid-roll: new starts stop with at most the window in flight",
      async () => {
        // roll-a/web-1 healthy again; web-4, web-5, web-6 of roll-a never available (no node
        // matches), failing at their progress deadline; roll-b (rolled after roll-a) healthy.
        const broken = ["web-4", "web-5", "web-6"];
        await cluster.kubectl([
          "patch",
          "deployment",
          "web-1",
          "-n",
          "roll-a",
          "--type=json",
          "-p",
          JSON.stringify([{ op: "remove", path: "/spec/template/spec/nodeSelector" }]),
        ]);
        for (const namespace of NAMESPACES) {
          for (let i = 1; i <= PER_NAMESPACE; i++) {
            const sick = namespace === "roll-a" && broken.includes(`web-${i}`);
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
                  progressDeadlineSeconds: sick ? 5 : 600,
                  ...(sick
                    ? { template: { spec: { nodeSelector: { "no-such-node": "true" } } } }
                    : {}),
                },
              }),
            ]);
          }
        }
        await cluster.kubectl([
          "rollout",
          "status",
          "deployment/web-1",
          "-n",
          "roll-a",
          "--timeout=120s",
        ]);
        const sick = {
          ...step,
          id: "roll-sick",
          window: "adaptive" as const,
          windowStart: 1,
          batchSize: 4,
        };
        const { ctx, log } = context(api, sick.id);
        const error = await runStep(ctx, sick).then(
          () => assert.fail("the roll completed"),
          (error: Error) => error,
        );
        const stop = error.message.match(
          /stopped new starts with (\d+) in flight \(window (\d+)\)/,
        );
        assert.ok(stop, error.message);
        const [inFlight, size] = [Number(stop[1]), Number(stop[2])];
        console.error(
          `sick roll: ${error.message.split("\n")[0]}; window ${windowSizes(log.lines).join(", ")}`,
        );
        assert.ok(inFlight <= size, `${inFlight} in flight, window ${size}`);
        assert.ok(size >= 2, "the window had grown from 1 before the failure");
        assert.ok(inFlight >= 2, "more than one sick rollout was in flight");
        assert.match(error.message, /Deployment\/roll-a\/web-4/);
        assert.match(error.message, /; 6 not started/);
        // what the cluster shows: roll-a started (its 7 annotated), roll-b never started
        assert.equal(
          (await rolledBy(cluster, "roll-a")).filter((name) => name === sick.id).length,
          PER_NAMESPACE + 1,
        );
        assert.deepEqual(
          (await rolledBy(cluster, "roll-b")).filter((name) => name === sick.id),
          [],
          "nothing of roll-b started",
        );
      },
    );
  } finally {
    await cluster.stop();
  }
});
