/**
 * The runner's drift re-check with test kinds (the engine knows no real kind): at the start of
 * each phase a run enters, a done step's file that something else rewrote is named with the step
 * and re-applied before the phase's first step, or — for a kind that holds on drift — the run
 * holds (gate) with nothing else changed. The negative control runs without the re-check and the
 * later step reads the rewritten file.
 */
import assert from "node:assert/strict";
import { runPlan, type SharedContext } from "./runner.ts";
import { StepRegistry } from "./registry.ts";
import { memoryProgressStore } from "./progress.ts";
import { memoryPrinter } from "./printer.ts";
import { caMaterialOf } from "./ca_material.ts";
import type { StepContext, StepKind } from "./step.ts";
import type { Change } from "./change.ts";
import type { DriftPolicy } from "./drift.ts";
import { LocalNode } from "../nodes/local.ts";
import { OverlayNode } from "./overlay_node.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { memoryEvents } from "./events.ts";
import { checkDrift } from "./drift_check.ts";

interface TestStep {
  id: string;
  phase: "trust" | "switch" | "finalize";
  kind: string;
  path: string;
  content?: string;
  from?: string;
}

/** A kind that makes `step.path` hold `content` (or a copy of `from`), with a drift policy. */
function fileKind(kind: string, drift: DriftPolicy, failObserve = false): StepKind {
  return {
    kind,
    schema: undefined as never,
    undo: { nothing: "a test kind" },
    drift,
    async observe(ctx: StepContext, step: TestStep) {
      if (failObserve) throw new Error("cannot read the disk");
      const node = ctx.controlPlane[0];
      const desired = step.content ?? await node.readFile(step.from!);
      return { node: node.name, current: await node.readFile(step.path), desired };
    },
    diff(observed: { node: string; current?: string; desired?: string }, step: TestStep) {
      return observed.current === observed.desired ? [] : [{
        action: "update" as const,
        target: { type: "file" as const, node: observed.node, path: step.path },
        before: observed.current,
        after: observed.desired,
        reason: `${step.path} holds ${observed.desired?.trim()}`,
      }];
    },
    async apply(ctx: StepContext, step: TestStep, changes: readonly Change[]) {
      for (const change of changes) await ctx.controlPlane[0].writeFile(step.path, change.after!);
    },
    async verify() {},
  } as unknown as StepKind;
}

const registry = () =>
  new StepRegistry([
    fileKind("write-file", { reapply: "a test kind" }),
    fileKind("pin-file", { hold: "a test kind" }),
    fileKind("broken-file", { reapply: "a test kind" }, true),
  ]);

function loadedPlan(steps: TestStep[], stopAfter: string): LoadedPlan {
  return {
    path: "plans/test.yaml",
    plan: { metadata: { name: "test" }, stopAfter, steps },
    digest: "plan-digest",
    stepDigests: Object.fromEntries(steps.map((step) => [step.id, `digest-${step.id}`])),
  } as unknown as LoadedPlan;
}

async function setup() {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-drift-" });
  const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/backup" });
  const context = (dryRun = false): SharedContext => ({
    dryRun,
    layout: undefined as never,
    workloads: undefined as never,
    planDir: ".",
    controlPlane: [dryRun ? new OverlayNode(node) : node],
    workers: [],
    cluster: undefined as unknown as ClusterApi,
    cas: caMaterialOf({}),
  });
  return { node, context, cleanup: () => Deno.remove(root, { recursive: true }) };
}

/** Runs `steps` up to `stopAfter` with `registry`'s kinds and the re-check on. */
function runWithRecheck(
  env: Awaited<ReturnType<typeof setup>>,
  store: ReturnType<typeof memoryProgressStore>,
  registry: StepRegistry,
  steps: TestStep[],
  stopAfter: string,
) {
  return runPlan({
    loaded: loadedPlan(steps, stopAfter),
    registry,
    store,
    context: env.context(),
    printer: memoryPrinter(),
    recheckDone: true,
  });
}

const trustThenSwitch = (kind = "write-file"): TestStep[] => [
  { id: "write-a", phase: "trust", kind, path: "/etc/a", content: "bundle\n" },
  { id: "copy-a-to-b", phase: "switch", kind: "write-file", path: "/etc/b", from: "/etc/a" },
];

/** Runs `steps` up to `stopAfter` with the re-check on (unless told), returning what it printed. */
async function run(
  setupDone: Awaited<ReturnType<typeof setup>>,
  store: ReturnType<typeof memoryProgressStore>,
  steps: TestStep[],
  stopAfter: string,
  options: { recheckDone?: boolean; dryRun?: boolean } = {},
) {
  const printer = memoryPrinter();
  const events = memoryEvents();
  const result = await runPlan({
    loaded: loadedPlan(steps, stopAfter),
    registry: registry(),
    store,
    context: setupDone.context(options.dryRun),
    printer,
    events,
    recheckDone: options.recheckDone ?? true,
  });
  return { result, lines: printer.lines, events: events.events };
}

Deno.test("drift: a done step's file rewritten between phases is named and re-applied first", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  await run(env, store, trustThenSwitch(), "trust");
  await env.node.writeFile("/etc/a", "old\n"); // kubeadm certs renew, say
  const { result, lines, events } = await run(env, store, trustThenSwitch(), "switch");
  assert.equal(result.outcome, "done");
  assert.ok(
    lines.includes(
      "warning: drift: /etc/a on cp-1 is no longer what step write-a made (/etc/a holds bundle); " +
        "re-applying the step",
    ),
    lines.join("\n"),
  );
  assert.ok(lines.some((line) => /drift: \/etc\/a on cp-1 .* re-applied$/.test(line)));
  assert.equal(await env.node.readFile("/etc/a"), "bundle\n");
  assert.equal(
    await env.node.readFile("/etc/b"),
    "bundle\n",
    "the switch read the re-applied file",
  );
  assert.deepEqual(result.drift.map((each) => [each.phase, each.outcome, each.checked]), [
    ["switch", "reapplied", ["write-a"]],
  ]);
  const found = events.find((event) => event.type === "DriftFound");
  assert.deepEqual(found && { ...found }, {
    type: "DriftFound",
    phase: "switch",
    steps: ["write-a"],
    targetType: "file",
    target: "cp-1:/etc/a",
    reasons: ["/etc/a holds bundle"],
    action: "reapply",
  });
  assert.equal((await store.load())!.steps["write-a"].attempts, 2, "the re-apply is an attempt");
  await env.cleanup();
});

Deno.test("drift, negative control: without the re-check the next phase builds on the drifted file", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  await run(env, store, trustThenSwitch(), "trust");
  await env.node.writeFile("/etc/a", "old\n");
  const { result, lines } = await run(env, store, trustThenSwitch(), "switch", {
    recheckDone: false,
  });
  assert.equal(result.outcome, "done");
  assert.ok(!lines.some((line) => line.includes("drift")));
  assert.equal(await env.node.readFile("/etc/b"), "old\n", "the harm: the switch built on old");
  await env.cleanup();
});

Deno.test("drift: no drift, no change; the re-check says how many done steps it re-checked", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  await run(env, store, trustThenSwitch(), "trust");
  const { result, lines } = await run(env, store, trustThenSwitch(), "switch");
  assert.ok(lines.includes('drift: none at the start of phase "switch" (1 done steps re-checked)'));
  assert.deepEqual(result.drift.map((each) => each.outcome), ["clean"]);
  assert.equal((await store.load())!.steps["write-a"].attempts, 1);
  await env.cleanup();
});

Deno.test("drift: a kind that holds on drift holds the run before anything else changes", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  await run(env, store, trustThenSwitch("pin-file"), "trust");
  await env.node.writeFile("/etc/a", "someone's\n");
  const { result } = await run(env, store, trustThenSwitch("pin-file"), "switch");
  assert.equal(result.outcome, "gate");
  assert.match(result.gate!, /\/etc\/a on cp-1 \(made by write-a\)/);
  assert.equal(result.gateStep, "copy-a-to-b");
  assert.equal(await env.node.readFile("/etc/a"), "someone's\n", "not overwritten");
  assert.equal(await env.node.readFile("/etc/b"), undefined, "the phase's first step did not run");
  assert.equal((await store.load())!.steps["copy-a-to-b"], undefined);
  await env.cleanup();
});

Deno.test("drift: a later done step superseding an earlier one's file is no drift", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  const steps: TestStep[] = [
    { id: "trust-bundle", phase: "trust", kind: "write-file", path: "/etc/a", content: "bundle\n" },
    { id: "switch-new", phase: "switch", kind: "write-file", path: "/etc/a", content: "new\n" },
    { id: "finalize-c", phase: "finalize", kind: "write-file", path: "/etc/c", content: "c\n" },
  ];
  await run(env, store, steps, "switch");
  const clean = await run(env, store, steps, "finalize");
  assert.deepEqual(clean.result.drift.map((each) => each.outcome), ["clean"]);
  // Back at what only the earlier step made: both steps re-apply, in plan order, ending at new.
  await env.node.writeFile("/etc/a", "old\n");
  const steps2 = steps.map((step) => step.id === "finalize-c" ? { ...step, path: "/etc/d" } : step);
  const progress = (await store.load())!;
  delete progress.steps["finalize-c"];
  await store.save(progress);
  const again = await run(env, store, steps2, "finalize");
  assert.deepEqual(again.result.drift[0].findings[0].steps, ["trust-bundle", "switch-new"]);
  assert.equal(await env.node.readFile("/etc/a"), "new\n");
  await env.cleanup();
});

Deno.test("drift: a done step whose replay fails is reported, not drift; a dry run writes nothing", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  const steps: TestStep[] = [
    { id: "write-a", phase: "trust", kind: "write-file", path: "/etc/a", content: "bundle\n" },
    { id: "broken", phase: "trust", kind: "write-file", path: "/etc/x", content: "x\n" },
    { id: "copy-a-to-b", phase: "switch", kind: "write-file", path: "/etc/b", from: "/etc/a" },
  ];
  await run(env, store, steps, "trust");
  await env.node.writeFile("/etc/a", "old\n");
  const broken = steps.map((step) =>
    step.id === "broken" ? { ...step, kind: "broken-file" } : step
  );
  const dry = await run(env, store, broken, "switch", { dryRun: true });
  assert.ok(
    dry.lines.some((line) =>
      line ===
        "warning: drift: cannot re-check done step broken: [broken] observe: cannot read the disk"
    ),
    dry.lines.join("\n"),
  );
  assert.ok(
    dry.lines.some((line) => /drift: \/etc\/a on cp-1 .*a run re-applies the step$/.test(line)),
  );
  assert.deepEqual(dry.result.drift.map((each) => each.outcome), ["planned"]);
  assert.ok(dry.result.steps.some((step) => step.stepId === "write-a"), "the re-apply is shown");
  assert.equal(await env.node.readFile("/etc/a"), "old\n", "a dry run writes nothing");
  await env.cleanup();
});

Deno.test("drift: a run resumed in a step that rewrote a done step's file re-applies nothing", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  const steps: TestStep[] = [
    { id: "trust-bundle", phase: "trust", kind: "write-file", path: "/etc/a", content: "bundle\n" },
    { id: "finalize-new", phase: "finalize", kind: "write-file", path: "/etc/a", content: "new\n" },
  ];
  await run(env, store, steps, "trust");
  // A run killed in finalize-new after it wrote /etc/a: recorded running, the file already new.
  await env.node.writeFile("/etc/a", "new\n");
  const progress = (await store.load())!;
  progress.steps["finalize-new"] = {
    status: "running",
    attempts: 1,
    digest: "digest-finalize-new",
  };
  await store.save(progress);
  const resumed = await run(env, store, steps, "finalize");
  assert.deepEqual(resumed.result.drift.map((each) => [each.outcome, each.checked]), [
    ["clean", ["trust-bundle"]],
  ]);
  assert.equal((await store.load())!.steps["trust-bundle"].attempts, 1, "not re-applied");
  assert.equal(await env.node.readFile("/etc/a"), "new\n");
  await env.cleanup();
});

Deno.test("drift: a done step a later done step ends (endedBy) is not re-checked", async () => {
  const env = await setup();
  const store = memoryProgressStore();
  const registry = new StepRegistry([
    fileKind("write-file", { reapply: "a test kind" }),
    fileKind("stage-file", { reapply: "a test kind", endedBy: ["delete-file"] }),
    fileKind("delete-file", { none: "a test kind" }),
  ]);
  const steps: TestStep[] = [
    { id: "stage", phase: "trust", kind: "stage-file", path: "/etc/staged", content: "s\n" },
    { id: "unstage", phase: "switch", kind: "delete-file", path: "/etc/other", content: "x\n" },
    { id: "last", phase: "finalize", kind: "write-file", path: "/etc/c", content: "c\n" },
  ];
  const runTo = (stopAfter: string) => runWithRecheck(env, store, registry, steps, stopAfter);
  await runTo("switch");
  await env.node.removeFile("/etc/staged"); // what the later step's kind ends
  const ended = await runTo("finalize");
  assert.deepEqual(ended.drift.map((each) => [each.outcome, each.checked]), [["clean", []]]);
  assert.equal(await env.node.readFile("/etc/staged"), undefined, "not staged again");
  await env.cleanup();
});

Deno.test("drift: a step a later step ends is not re-checked while a run is stopped in that later step", async () => {
  // As distribute-sa-key, activate-sa-key and remove-old-sa-key: a staged file made once (a new
  // key: another one each time it is made), copied into place, then deleted. A run killed once the
  // deletion is done but before its step is: the staged file is gone, the copy in place stays.
  const env = await setup();
  const store = memoryProgressStore();
  const stageOnce: StepKind = {
    ...fileKind("stage-once", { reapply: "a test kind", endedBy: ["delete-file"] }),
    async observe(ctx: StepContext, step: TestStep) {
      const node = ctx.controlPlane[0];
      const current = await node.readFile(step.path);
      return { node: node.name, current, desired: current ?? `${crypto.randomUUID()}\n` };
    },
  } as unknown as StepKind;
  const registry = new StepRegistry([
    stageOnce,
    fileKind("copy-file", { reapply: "a test kind", endedBy: ["delete-file"] }),
    fileKind("delete-file", { none: "a test kind" }),
  ]);
  const steps: TestStep[] = [
    { id: "stage", phase: "trust", kind: "stage-once", path: "/etc/staged" },
    {
      id: "activate",
      phase: "finalize",
      kind: "copy-file",
      path: "/etc/active",
      from: "/etc/staged",
    },
    { id: "unstage", phase: "finalize", kind: "delete-file", path: "/etc/other", content: "x\n" },
  ];
  const runTo = (stopAfter: string) => runWithRecheck(env, store, registry, steps, stopAfter);
  await runTo("trust");
  const staged = await env.node.readFile("/etc/staged");
  await env.node.writeFile("/etc/active", staged!);
  await env.node.removeFile("/etc/staged");
  const progress = (await store.load())!;
  progress.steps["activate"] = { status: "done", attempts: 1, digest: "digest-activate" };
  progress.steps["unstage"] = { status: "running", attempts: 1, digest: "digest-unstage" };
  await store.save(progress);
  const resumed = await runTo("finalize");
  assert.deepEqual(resumed.drift.map((each) => each.outcome), ["clean"]);
  assert.equal(await env.node.readFile("/etc/active"), staged, "the copy in place is kept");
  assert.equal(await env.node.readFile("/etc/staged"), undefined, "nothing staged again");
  // Negative control: the same state, with the stopped-in step not counted as begun: the replay
  // stages a new file and finds it, and the copy in place, drifted.
  const recheck = (started: boolean) =>
    checkDrift({
      steps,
      done: (id) => id !== "unstage",
      started: (id) => started && id === "unstage",
      registry,
      context: env.context(),
      rotationStartedAt: new Date(),
    });
  assert.deepEqual((await recheck(true)).findings, []);
  const findings = (await recheck(false)).findings;
  assert.deepEqual(findings.map((each) => [each.name, each.steps]), [
    ["cp-1:/etc/staged", ["stage"]],
    ["cp-1:/etc/active", ["activate"]],
  ]);
  await env.cleanup();
});
