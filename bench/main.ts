/**
 * `deno task bench [--quick]`: starts a real control plane (1 API server, kwok workers) and
 * measures, side by side on it, with medians of repeated runs:
 *
 * 1. start-up of the CLI: `--help`, `validate` of plans/kubeadm.yaml;
 * 2. rolls: the runbook loop, the ceiling client and ca-rotator's roll-workloads with a fixed
 *    and the shipped adaptive window (bench/rolls.ts), with the requests ca-rotator made per
 *    workload as the API server counts them, and a failure injected mid-roll;
 * 3. the dry run of plans/local-demo.yaml (plans/kubeadm.yaml's procedure on this control plane)
 *    against many kwok nodes with issued kubelet CSRs and many Deployments: wall time, peak
 *    memory (`/usr/bin/time -v`), API requests by verb;
 * 4. a no-op `rotate` on a rotation recorded as finished;
 * 5. the kubelet verifier over many kwok nodes, against the API server and in memory;
 * 6. the node part of the trust phase on N ssh workers, kubelets one at a time versus the
 *    shipped adaptive window (bench/nodes.ts; a fresh 3-API-server cluster for each).
 *
 * It prints one table per measurement and writes bench/results.json; bench/README.md holds the
 * last figures. Not part of the tests. `--quick` is a small, fast variant for development.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../test/cluster/harness.ts";
import { readRequestTotals, requestDelta } from "../test/cluster/api_metrics.ts";
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { loadPlan } from "../src/app/plan.ts";
import { loadNewCaMaterial } from "../src/state/new_ca_secret.ts";
import { ConfigMapProgressStore } from "../src/state/progress_configmap.ts";
import { generateCa } from "../src/pki/mod.ts";
import { benchRolls, type RollResults } from "./rolls.ts";
import { populateDeployments, populateKwokNodes } from "./populate.ts";
import { benchNodePhases, type NodePhaseRun } from "./nodes.ts";
import { benchVerifierApi, benchVerifierInMemory, type VerifierRun } from "./verifier.ts";
import {
  type ChildRun,
  loadAverage,
  median,
  mib,
  note,
  seconds,
  table,
  timeChild,
} from "./_measure.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string" },
    "roll-deployments": { type: "string" },
    "roll-repeats": { type: "string" },
    "dry-run-scales": { type: "string" },
    "verifier-nodes": { type: "string" },
    "verifier-memory-nodes": { type: "string" },
    "ssh-workers": { type: "string" },
    only: { type: "string" },
  },
});
const quick = flags.quick;
const number = (value: string | undefined, full: number, small: number) =>
  value === undefined ? (quick ? small : full) : Number(value);
const settings = {
  repeats: number(flags.repeats, 5, 3),
  rollDeployments: number(flags["roll-deployments"], 200, 40),
  rollNamespaces: quick ? 4 : 20,
  rollDaemonSets: 3,
  rollRepeats: number(flags["roll-repeats"], 3, 1),
  rollFixedWindow: 5,
  rollAdaptiveMax: 20,
  rollInjectedFailures: 3,
  dryRunScales: dryRunScales(
    flags["dry-run-scales"] ?? (quick ? "200x1000" : "1000x5000,5000x20000"),
  ),
  dryRunNamespaces: 100,
  dryRunRepeats: quick ? 1 : 3,
  verifierNodes: number(flags["verifier-nodes"], 10_000, 1000),
  verifierMemoryNodes: number(flags["verifier-memory-nodes"], 10_000, 1000),
  sshWorkers: number(flags["ssh-workers"], 20, 5),
};
/**
 * `--dry-run-scales 1000x5000,5000x20000`: the dry run's sizes (nodes × Deployments), measured in
 * this order on one control plane that grows to each (the goals are those of issue 23).
 */
function dryRunScales(text: string) {
  return text.split(",").map((scale) => {
    const match = /^(\d+)x(\d+)$/.exec(scale.trim());
    if (!match) throw new Error(`--dry-run-scales: "${scale}" is not <nodes>x<deployments>`);
    const [nodes, deployments] = [Number(match[1]), Number(match[2])];
    const goal = nodes <= 1000 && deployments <= 5000
      ? { seconds: 4, megabytes: 250 }
      : { seconds: 15, megabytes: 500 };
    return { nodes, deployments, goal };
  });
}
const only = new Set((flags.only ?? "startup,rolls,dry-run,noop,verifier,nodes").split(","));

const tables: string[] = [];
const results: Record<string, unknown> = { settings };
async function report(text: string) {
  const load = await loadAverage();
  tables.push(`${text}\nload average after: ${load}\n`);
  console.log(text);
  console.log(`load average after: ${load}\n`);
}

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const loadavg = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return {
    cpu: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown",
    cpus: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Number(meminfo.match(/MemTotal:\s*(\d+)/)?.[1] ?? 0) / 1024 / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    loadAverageAtStart: loadavg.split(" ").slice(0, 3).join(" "),
  };
}

/** Runs the CLI `repeats` times; the medians of wall time and peak memory. */
async function cli(args: string[], repeats: number, env?: Record<string, string>) {
  const runs: ChildRun[] = [];
  for (let i = 0; i < repeats; i++) {
    const run = await timeChild([Deno.execPath(), "run", "-A", "main.ts", ...args], {
      env,
      cwd: ROOT,
    });
    if (run.code !== 0 && run.code !== 3) {
      throw new Error(`main.ts ${args.join(" ")} exited ${run.code}: ${run.stderr.slice(-2000)}`);
    }
    runs.push(run);
  }
  return {
    runsMs: runs.map((run) => Math.round(run.ms)),
    medianMs: median(runs.map((run) => run.ms)),
    medianPeakRss: median(runs.map((run) => run.peakRss)),
    medianCpuMs: median(runs.map((run) => run.cpuMs)),
    loadAverage: await loadAverage(),
    runs,
  };
}

/** A CLI measurement without its captured output. */
function summary(measured: Awaited<ReturnType<typeof cli>>) {
  const { runs: _runs, ...rest } = measured;
  return rest;
}

async function benchStartup(cluster: TestCluster) {
  note("start-up: --help and validate");
  const help = await cli(["--help"], settings.repeats);
  const validate = await cli(
    ["validate", "--plan", "plans/kubeadm.yaml"],
    settings.repeats,
    cluster.env,
  );
  return { help, validate };
}

function startupTable(
  rows: [string, { medianMs: number; medianPeakRss: number; medianCpuMs: number }, number][],
) {
  return table(
    `Start-up (median of ${settings.repeats} runs)`,
    ["command", "seconds", "CPU s", "peak MiB", "goal (s)", "vs goal"],
    rows.map(([name, run, goal]) => [
      name,
      seconds(run.medianMs),
      seconds(run.medianCpuMs),
      mib(run.medianPeakRss),
      (goal / 1000).toFixed(1),
      run.medianMs <= goal ? "met" : `missed by ${seconds(run.medianMs - goal)} s`,
    ]),
  );
}

function rollTable(rolls: RollResults) {
  const ceiling = rolls.methods[1].medianMs;
  const runbook = rolls.methods[0].medianMs;
  return table(
    `Rolls: ${rolls.deployments} Deployments (1 replica) + ${rolls.daemonSets} DaemonSets, ` +
      `seconds until every rollout is complete (median of ${settings.rollRepeats})`,
    [
      "how",
      "seconds",
      "PATCHes alone",
      "vs ceiling (throughput)",
      "vs runbook",
      "requests/workload",
    ],
    rolls.methods.map((method) => [
      method.method +
      (method.peakWindows ? ` (largest window: ${method.peakWindows.join("/")})` : ""),
      seconds(method.medianMs),
      method.patchMedianMs === undefined ? "" : seconds(method.patchMedianMs),
      `${((ceiling / method.medianMs) * 100).toFixed(0)} %`,
      `${(runbook / method.medianMs).toFixed(2)}×`,
      method.requestsPerWorkload === undefined
        ? ""
        : `${method.requestsPerWorkload.toFixed(2)} (${
          Object.entries(method.requests ?? {}).map(([verb, count]) => `${verb} ${count}`).join(
            ", ",
          )
        })`,
    ]),
  );
}

/** The trust phase on N ssh workers, one column per run: the steps that took a second or more. */
function nodePhaseTable(runs: readonly NodePhaseRun[]) {
  const stepIds = [...new Set(runs.flatMap((run) => run.steps.map((step) => step.step)))]
    .filter((id) => runs.some((run) => run.steps.some((s) => s.step === id && s.seconds >= 1)));
  const secondsOf = (run: NodePhaseRun, id: string) => {
    const step = run.steps.find((s) => s.step === id);
    return step ? `${step.seconds.toFixed(1)}` : "";
  };
  return table(
    `Nodes: the trust phase of plans/ssh-demo.yaml with ${runs[0]?.workers} ssh workers and 3 ` +
      "control-plane nodes, seconds per step (steps of 1 s or more)",
    ["step", ...runs.map((run) => run.name)],
    [
      ...stepIds.map((id) => [id, ...runs.map((run) => secondsOf(run, id))]),
      ["the whole phase (rotate process)", ...runs.map((run) => run.phaseSeconds.toFixed(1))],
    ],
  );
}

function rollFailureTable(failure: NonNullable<RollResults["failure"]>) {
  return table(
    `Rolls: ${failure.broken} Deployments never available from position ${failure.firstBrokenAt} ` +
      "of the roll order, adaptive window",
    [
      "stopped after",
      "in flight at the stop",
      "window then",
      "started",
      "not started",
      "window sizes",
    ],
    [[
      `${failure.seconds.toFixed(1)} s`,
      String(failure.inFlightAtStop),
      String(failure.windowAtStop),
      String(failure.started),
      String(failure.notStarted),
      failure.windowSizes.join(" "),
    ]],
  );
}

type DryRunScale = typeof settings.dryRunScales[number];

async function benchDryRun(cluster: TestCluster, scale: DryRunScale) {
  note(`dry run: populating ${scale.nodes} kwok nodes with kubelet CSRs`);
  let started = Date.now();
  await populateKwokNodes(cluster.kubeconfig, scale.nodes);
  note(`  ${((Date.now() - started) / 1000).toFixed(0)} s`);
  note(`dry run: populating ${scale.deployments} Deployments (0 replicas)`);
  started = Date.now();
  await populateDeployments(cluster.kubeconfig, scale.deployments, settings.dryRunNamespaces, 0);
  note(`  ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // Every Node must be covered or excluded: the kwok nodes have no node files to rotate.
  const plan = join(await Deno.makeTempDir({ prefix: "bench-plan-" }), "local-demo.yaml");
  await Deno.writeTextFile(
    plan,
    (await Deno.readTextFile(join(ROOT, "plans/local-demo.yaml"))).replace(
      '    roots: "${WORKER_ROOTS:-}"\n',
      '    roots: "${WORKER_ROOTS:-}"\n' +
        '  exclude: [{ selector: "type=kwok", reason: "the bench\'s kwok nodes: no node files" }]\n',
    ),
  );
  const runs: { run: ChildRun; requests: Record<string, number>; objectGets: number }[] = [];
  for (let i = 0; i < settings.dryRunRepeats; i++) {
    note(`dry run ${i + 1}/${settings.dryRunRepeats}`);
    const before = await readRequestTotals(cluster.kubectl);
    const run = await timeChild(
      [
        Deno.execPath(),
        "run",
        "-A",
        "main.ts",
        "rotate",
        "--plan",
        plan,
        "--dry-run",
      ],
      { env: cluster.env, cwd: ROOT },
    );
    const after = await readRequestTotals(cluster.kubectl);
    if (run.code !== 0) throw new Error(`dry run exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const summary = run.stdout.trim().split("\n").at(-1) ?? "";
    note(`  ${seconds(run.ms)} s, ${mib(run.peakRss)} MiB: ${summary}`);
    // single-object GETs of what the plan rolls or reads by LIST (nodes are read by kwok too)
    const objectGets = ["deployments", "daemonsets", "replicasets", "pods", "configmaps"]
      .reduce(
        (sum, resource) =>
          sum + (requestDelta(before, after, "verb", { resource, scope: "resource" }).GET ?? 0),
        0,
      );
    runs.push({ run, requests: requestDelta(before, after, "verb"), objectGets });
  }
  const medianMs = median(runs.map((each) => each.run.ms));
  const middle = runs.find((each) => each.run.ms === medianMs) ?? runs[0];
  return {
    ...scale,
    runsMs: runs.map((each) => Math.round(each.run.ms)),
    medianMs,
    medianPeakRss: median(runs.map((each) => each.run.peakRss)),
    medianCpuMs: median(runs.map((each) => each.run.cpuMs)),
    loadAverage: await loadAverage(),
    requestsByVerb: middle.requests,
    workloadObjectGets: middle.objectGets,
    summary: middle.run.stdout.trim().split("\n").at(-1),
  };
}

/** Records plans/local-demo.yaml's rotation as finished (every step done, the real digests). */
async function finishRotation(cluster: TestCluster) {
  const loaded = await loadPlan(join(ROOT, "plans/local-demo.yaml"), cluster.env);
  const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
  // A fresh cluster: the CAs are generated (no key has left a Secret for the nodes yet).
  const material = await loadNewCaMaterial(api, loaded.plan, join(ROOT, "plans"), {
    dryRun: false,
    controlPlane: [],
  });
  const now = new Date().toISOString();
  await new ConfigMapProgressStore(api, loaded.plan.metadata.name).save({
    plan: loaded.plan.metadata.name,
    planDigest: loaded.digest,
    caFingerprints: material.cas.fingerprints(),
    stopAfter: "finalize",
    steps: Object.fromEntries(
      loaded.plan.steps.map((step) => [step.id, {
        status: "done",
        attempts: 1,
        digest: loaded.stepDigests[step.id],
        startedAt: now,
        finishedAt: now,
        changes: 0,
      }]),
    ),
  });
}

async function benchVerifier(
  cluster: TestCluster,
  inMemory: Awaited<ReturnType<typeof benchVerifierInMemory>>,
) {
  note(`verifier: populating up to ${settings.verifierNodes} kwok nodes with kubelet CSRs`);
  const started = Date.now();
  const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
  const issued = async () => {
    let count = 0;
    await api.listEach<KubeObject & { status?: { certificate?: string } }>(
      "certificates.k8s.io/v1",
      "CertificateSigningRequest",
      {},
      (csr) => {
        if (csr.metadata?.name?.startsWith("bench-") && csr.status?.certificate) count++;
      },
    );
    return count;
  };
  // On a loaded machine the API server may never answer one of the fill's requests (seen at load
  // average 50: every CSR issued, the fill still waiting): go on once every CSR is issued.
  let filling = true;
  const fill = populateKwokNodes(cluster.kubeconfig, settings.verifierNodes)
    .catch((error) => note(`  the fill failed: ${(error as Error).message}`))
    .finally(() => filling = false);
  for (let waited = 0;; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const count = await issued().catch(() => 0);
    if (count >= settings.verifierNodes) break;
    if (!filling && waited > 120) {
      throw new Error(`${settings.verifierNodes - count} CSRs still not issued`);
    }
  }
  if (filling) {
    note("  every CSR issued; a request of the fill is still unanswered, not waited for");
  }
  void fill;
  note(`  ${((Date.now() - started) / 1000).toFixed(0)} s to fill and issue`);
  const clusterCa = await Deno.readTextFile(
    join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"),
  );
  const newCa = await generateCa({ keyType: "ecdsa-p256" });
  const againstApi = await benchVerifierApi(
    cluster.kubeconfig,
    newCa.certPem + clusterCa,
    settings.repeats,
  );
  const runs = (list: VerifierRun[]) => ({
    runsMs: list.map((r) => Math.round(r.wallMs)),
    cpuMs: list.map((r) => Math.round(r.cpuMs)),
    medianMs: median(list.map((r) => r.wallMs)),
    medianCpuMs: median(list.map((r) => r.cpuMs)),
  });
  return {
    nodes: settings.verifierNodes,
    apiServer: { nodesSeen: againstApi.nodes, ...runs(againstApi.runs) },
    inMemory: {
      nodes: settings.verifierMemoryNodes,
      ...runs(inMemory.cold),
      warm: runs(inMemory.warm),
      certificates: inMemory.counts,
    },
    loadAverage: await loadAverage(),
  };
}

results.machine = await machine();
results.startedAt = new Date().toISOString();
note(`settings: ${JSON.stringify(settings)}`);
// The verifier in memory first, before the bench's control plane holds (and kwok heartbeats)
// thousands of nodes and Deployments on the same cores.
const verifierInMemory = only.has("verifier")
  ? await benchVerifierInMemory(settings.verifierMemoryNodes, settings.repeats)
  : undefined;
const cluster = await startCluster({ apiServers: 1, nodes: 3 });
try {
  if (only.has("startup")) {
    const startup = await benchStartup(cluster);
    results.startup = { help: summary(startup.help), validate: summary(startup.validate) };
    await report(startupTable([
      ["deno run -A main.ts --help", startup.help, 300],
      ["validate --plan plans/kubeadm.yaml", startup.validate, 600],
    ]));
  }
  if (only.has("rolls")) {
    const rolls = await benchRolls(cluster, {
      deployments: settings.rollDeployments,
      namespaces: settings.rollNamespaces,
      daemonSets: settings.rollDaemonSets,
      repeats: settings.rollRepeats,
      fixedWindow: settings.rollFixedWindow,
      adaptiveMax: settings.rollAdaptiveMax,
      injectedFailures: settings.rollInjectedFailures,
    });
    results.rolls = rolls;
    await report(rollTable(rolls));
    if (rolls.failure) await report(rollFailureTable(rolls.failure));
  }
  if (only.has("dry-run")) {
    const scales = [];
    for (const scale of settings.dryRunScales) scales.push(await benchDryRun(cluster, scale));
    results.dryRun = scales;
    await report(table(
      `Dry run of plans/local-demo.yaml: kwok nodes (issued kubelet CSRs) and Deployments in ` +
        `${settings.dryRunNamespaces} namespaces (median of ${settings.dryRunRepeats})`,
      [
        "nodes",
        "Deployments",
        "seconds",
        "CPU s",
        "peak MiB",
        "goal",
        "single-object GETs of workloads/pods/ConfigMaps",
        "API requests by verb (all clients, during the run)",
      ],
      scales.map((dry) => [
        String(dry.nodes),
        String(dry.deployments),
        seconds(dry.medianMs),
        seconds(dry.medianCpuMs),
        mib(dry.medianPeakRss),
        `< ${dry.goal.seconds} s, < ${dry.goal.megabytes} MB`,
        String(dry.workloadObjectGets),
        Object.entries(dry.requestsByVerb).map(([verb, count]) => `${verb} ${count}`).join(", "),
      ]),
    ));
  }
  if (only.has("noop")) {
    note("no-op rotate on a finished rotation");
    await finishRotation(cluster);
    const noop = await cli(
      ["rotate", "--plan", "plans/local-demo.yaml"],
      settings.repeats,
      cluster.env,
    );
    results.noopRotate = summary(noop);
    await report(startupTable([["rotate (no-op: every step done)", noop, 3000]]));
  }
  if (only.has("verifier")) {
    const verifier = await benchVerifier(cluster, verifierInMemory!);
    results.verifier = verifier;
    await report(table(
      `Kubelet verifier: kwok nodes with issued CSRs (median of ${settings.repeats})`,
      ["where", "nodes", "seconds", "CPU s", "goal (s)"],
      [
        [
          "against the API server (observeKubelets)",
          String(verifier.apiServer.nodesSeen),
          seconds(verifier.apiServer.medianMs),
          seconds(verifier.apiServer.medianCpuMs),
          "5",
        ],
        [
          "in memory, cold (index, read, classify, assess, render)",
          String(verifier.inMemory.nodes),
          seconds(verifier.inMemory.medianMs),
          seconds(verifier.inMemory.medianCpuMs),
          "1",
        ],
        [
          "in memory, warm (a wait's later rounds)",
          String(verifier.inMemory.nodes),
          seconds(verifier.inMemory.warm.medianMs),
          seconds(verifier.inMemory.warm.medianCpuMs),
          "",
        ],
      ],
    ));
  }
  if (only.has("nodes")) {
    const runs = await benchNodePhases(settings.sshWorkers);
    results.nodes = runs;
    await report(nodePhaseTable(runs));
  }
} finally {
  await cluster.stop();
}
results.finishedAt = new Date().toISOString();
results.tables = tables;
const out = join(ROOT, "bench", quick ? "results.quick.json" : "results.json");
// With --only, the sections measured now replace theirs in an earlier results file.
const earlier = flags.only
  ? JSON.parse(await Deno.readTextFile(out).catch(() => "{}")) as Record<string, unknown>
  : {};
const merged = { ...earlier, ...results, sections: { ...earlier.sections as object } };
for (const key of ["startup", "rolls", "dryRun", "noopRotate", "verifier", "nodes"]) {
  if (key in results) {
    (merged.sections as Record<string, unknown>)[key] = {
      at: results.startedAt,
      settings,
      machine: results.machine,
      tables,
    };
  }
}
await Deno.writeTextFile(out, JSON.stringify(merged, null, 2) + "\n");
note(`wrote ${out}`);
