import assert from "node:assert/strict";
import { runPlan, type SharedContext } from "./runner.ts";
import { StepRegistry } from "./registry.ts";
import { memoryProgressStore } from "./progress.ts";
import { memoryPrinter } from "./printer.ts";
import { caMaterialOf } from "./ca_material.ts";
import type { StepContext, StepKind } from "./step.ts";
import type { Change } from "./change.ts";
import { LocalNode } from "../nodes/local.ts";
import { OverlayNode } from "./overlay_node.ts";
import type { NodeAccess } from "./node_access.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { ClusterApi } from "./cluster_api.ts";

/** Test step kinds that only touch node files: write a file, and copy one file to another. */
interface TestStep {
  id: string;
  phase: "trust" | "switch" | "finalize";
  kind: "write-file" | "copy-file";
  path: string;
  content?: string;
  from?: string;
  fail?: boolean;
}

const calls: string[] = [];

function fileKind(
  kind: TestStep["kind"],
  desired: (node: NodeAccess, step: TestStep) => Promise<string | undefined>,
): StepKind {
  const implementation: StepKind<never, { node: string; before?: string; after?: string }> = {
    kind: kind as never,
    schema: undefined as never, // the runner never parses a plan
    undo: { nothing: "a test kind" },
    drift: { reapply: "a test kind: it writes one file" },
    async observe(ctx, step: TestStep) {
      calls.push(`observe ${step.id}`);
      const node = ctx.controlPlane[0];
      return {
        node: node.name,
        before: await node.readFile(step.path),
        after: await desired(node, step),
      };
    },
    diff(observed, step: TestStep): Change[] {
      if (observed.before === observed.after) return [];
      return [{
        action: observed.before === undefined ? "create" : "update",
        target: { type: "file", node: observed.node, path: step.path },
        before: observed.before,
        after: observed.after,
      }];
    },
    async apply(ctx, step: TestStep, changes) {
      calls.push(`apply ${step.id}`);
      if (step.fail) throw new Error("the disk is full");
      for (const change of changes) {
        await ctx.controlPlane[0].writeFile(step.path, change.after ?? "");
      }
    },
    async verify(ctx, step: TestStep) {
      calls.push(`verify ${step.id}`);
      const content = await ctx.controlPlane[0].readFile(step.path);
      if (content === undefined) throw new Error(`${step.path} is missing`);
    },
  };
  return implementation as unknown as StepKind;
}

const registry = () =>
  new StepRegistry()
    .register(fileKind("write-file", (_node, step) => Promise.resolve(step.content)))
    .register(fileKind("copy-file", (node, step) => node.readFile(step.from!)));

function loadedPlan(steps: TestStep[], stopAfter = "finalize"): LoadedPlan {
  return {
    path: "plans/test.yaml",
    plan: { metadata: { name: "test" }, stopAfter, steps },
    digest: "plan-digest",
    stepDigests: Object.fromEntries(
      steps.map((step) => [step.id, `digest-${step.id}-${step.content ?? step.from}`]),
    ),
  } as unknown as LoadedPlan;
}

async function setup(dryRun = false) {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-runner-" });
  const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/backup" });
  const printer = memoryPrinter();
  const context: SharedContext = {
    dryRun,
    layout: undefined as never,
    workloads: undefined as never,
    planDir: ".",
    controlPlane: [dryRun ? new OverlayNode(node) : node],
    workers: [],
    cluster: undefined as unknown as ClusterApi,
    cas: caMaterialOf({}),
  };
  return { root, node, printer, context, cleanup: () => Deno.remove(root, { recursive: true }) };
}

const steps: TestStep[] = [
  { id: "write-a", phase: "trust", kind: "write-file", path: "/etc/a", content: "alpha\n" },
  { id: "copy-a-to-b", phase: "switch", kind: "copy-file", path: "/etc/b", from: "/etc/a" },
  { id: "write-c", phase: "finalize", kind: "write-file", path: "/etc/c", content: "gamma\n" },
];

Deno.test("runner runs the steps in order through observe, apply and verify", async () => {
  const { node, printer, context, cleanup } = await setup();
  calls.length = 0;
  const store = memoryProgressStore();
  const result = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store,
    context,
    printer,
  });
  assert.equal(result.outcome, "done");
  assert.deepEqual(calls, [
    "observe write-a",
    "apply write-a",
    "verify write-a",
    "observe copy-a-to-b",
    "apply copy-a-to-b",
    "verify copy-a-to-b",
    "observe write-c",
    "apply write-c",
    "verify write-c",
  ]);
  assert.equal(await node.readFile("/etc/b"), "alpha\n");
  const progress = await store.load();
  assert.deepEqual(Object.values(progress!.steps).map((step) => step.status), [
    "done",
    "done",
    "done",
  ]);
  assert.ok(
    printer.lines.some((line) => line.startsWith("[copy-a-to-b] ")),
    "lines carry the step id",
  );
  await cleanup();
});

Deno.test("runner skips the steps its progress record says are done", async () => {
  const { printer, context, cleanup } = await setup();
  const store = memoryProgressStore();
  await runPlan({ loaded: loadedPlan(steps), registry: registry(), store, context, printer });
  calls.length = 0;
  const again = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store,
    context,
    printer,
  });
  assert.deepEqual(calls, []);
  assert.deepEqual(again.skipped, ["write-a", "copy-a-to-b", "write-c"]);
  await cleanup();
});

Deno.test("runner stops after the stopAfter phase and goes on from there next time", async () => {
  const { node, printer, context, cleanup } = await setup();
  const store = memoryProgressStore();
  calls.length = 0;
  await runPlan({
    loaded: loadedPlan(steps, "trust"),
    registry: registry(),
    store,
    context,
    printer,
  });
  assert.deepEqual(calls, ["observe write-a", "apply write-a", "verify write-a"]);
  assert.equal(await node.readFile("/etc/b"), undefined);
  calls.length = 0;
  await runPlan({
    loaded: loadedPlan(steps, "switch"),
    registry: registry(),
    store,
    context,
    printer,
  });
  assert.deepEqual(calls, ["observe copy-a-to-b", "apply copy-a-to-b", "verify copy-a-to-b"]);
  await cleanup();
});

Deno.test("runner wraps a step's error with its id and stage and records the failure", async () => {
  const { printer, context, cleanup } = await setup();
  const store = memoryProgressStore();
  const failing = [steps[0], { ...steps[1], fail: true }, steps[2]];
  await assert.rejects(
    () => runPlan({ loaded: loadedPlan(failing), registry: registry(), store, context, printer }),
    { name: "StepError", message: "[copy-a-to-b] apply: the disk is full" },
  );
  const progress = await store.load();
  assert.equal(progress!.steps["copy-a-to-b"].status, "failed");
  assert.equal(progress!.steps["write-c"], undefined, "no step after the failure ran");
  await cleanup();
});

Deno.test("runner refuses a change to a step that already ran", async () => {
  const { printer, context, cleanup } = await setup();
  const store = memoryProgressStore();
  await runPlan({
    loaded: loadedPlan(steps, "trust"),
    registry: registry(),
    store,
    context,
    printer,
  });
  const changed = [{ ...steps[0], content: "different\n" }, steps[1], steps[2]];
  await assert.rejects(
    () => runPlan({ loaded: loadedPlan(changed), registry: registry(), store, context, printer }),
    /step "write-a" has already run and its definition has changed since/,
  );
  await cleanup();
});

Deno.test("dry run walks the whole plan over an overlay and changes nothing", async () => {
  const { root, node, printer, context, cleanup } = await setup(true);
  const store = memoryProgressStore();
  const result = await runPlan({
    loaded: loadedPlan(steps, "trust"),
    registry: registry(),
    store,
    context,
    printer,
  });
  assert.deepEqual(result.steps.map((step) => step.stepId), ["write-a", "copy-a-to-b", "write-c"]);
  const copy = result.steps[1].changes[0];
  assert.equal(copy.after, "alpha\n", "the copy step sees the file the first step would write");
  assert.equal(await node.readFile("/etc/a"), undefined, "no file was written");
  assert.equal(store.saved, 0, "no progress was written");
  assert.deepEqual([...Deno.readDirSync(root)], []);
  await cleanup();
});

Deno.test("steps see when the rotation began: the first recorded start, kept across runs", async () => {
  const { printer, context, cleanup } = await setup();
  try {
    const seen: Date[] = [];
    const recordingRegistry = new StepRegistry([{
      ...fileKind("write-file", (_node, step) => Promise.resolve(step.content)),
      observe(ctx: StepContext) {
        seen.push(ctx.rotationStartedAt);
        return Promise.resolve({ node: "cp-1", before: "same", after: "same" });
      },
      verify: () => Promise.resolve(),
    } as StepKind]);
    const store = memoryProgressStore();
    const first = new Date("2026-01-01T10:00:00Z");
    const later = new Date("2026-01-02T10:00:00Z");
    const writeOnly = (stopAfter: string) =>
      loadedPlan(
        [
          { id: "one", phase: "trust", kind: "write-file", path: "/etc/x", content: "x" },
          { id: "two", phase: "switch", kind: "write-file", path: "/etc/y", content: "y" },
        ],
        stopAfter,
      );
    const run = (stopAfter: string, now: Date) =>
      runPlan({
        loaded: writeOnly(stopAfter),
        registry: recordingRegistry,
        store,
        context,
        printer,
        now: () => now,
      });
    await run("trust", first);
    await run("switch", later);
    assert.deepEqual(seen.map((date) => date.toISOString()), [
      first.toISOString(),
      first.toISOString(),
    ]);
  } finally {
    await cleanup();
  }
});

/** A node that counts its reads and writes as remote round trips. */
class CountingNode implements NodeAccess {
  #trips = 0;
  constructor(readonly base: NodeAccess) {}
  get name() {
    return this.base.name;
  }
  roundTrips() {
    return this.#trips;
  }
  readFile(path: string) {
    this.#trips++;
    return this.base.readFile(path);
  }
  writeFile(path: string, content: string) {
    this.#trips++;
    return this.base.writeFile(path, content);
  }
  removeFile(path: string) {
    this.#trips++;
    return this.base.removeFile(path);
  }
  run(command: readonly string[]) {
    this.#trips++;
    return this.base.run(command);
  }
}

Deno.test("runner reports each step's remote round trips, per node; none without a counting node", async () => {
  const { printer, context, node, cleanup } = await setup();
  const counting = { ...context, controlPlane: [new CountingNode(node)] };
  const result = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store: memoryProgressStore(),
    context: counting,
    printer,
  });
  // write: read, write, read again; copy: read /etc/b, read /etc/a, write, read
  assert.deepEqual(result.roundTrips, [
    { stepId: "write-a", total: 3, maxPerNode: 3, perNode: { "cp-1": 3 } },
    { stepId: "copy-a-to-b", total: 4, maxPerNode: 4, perNode: { "cp-1": 4 } },
    { stepId: "write-c", total: 3, maxPerNode: 3, perNode: { "cp-1": 3 } },
  ]);
  const local = await setup();
  const plain = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store: memoryProgressStore(),
    context: local.context,
    printer: local.printer,
  });
  assert.deepEqual(plain.roundTrips, []);
  await local.cleanup();
  await cleanup();
});

Deno.test("the phase gate is asked before each later phase of a run, and holds it there", async () => {
  const { printer, context, cleanup } = await setup();
  calls.length = 0;
  const asked: string[] = [];
  const store = memoryProgressStore();
  const result = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store,
    context,
    printer,
    phaseGate: (phase) => {
      asked.push(phase);
      return Promise.resolve(phase === "finalize" ? "a Node joined" : undefined);
    },
  });
  // Not before trust (the run's start checked it); before switch it let the run go on.
  assert.deepEqual(asked, ["switch", "finalize"]);
  assert.equal(result.outcome, "gate");
  assert.equal(result.gate, "a Node joined");
  assert.deepEqual(result.next, { step: "write-c", phase: "finalize" });
  assert.ok(!calls.includes("observe write-c"), "nothing of finalize ran");
  assert.equal((await store.load())!.steps["write-c"], undefined);

  // Resumed in finalize: its first phase, so the gate is not asked again by this run.
  asked.length = 0;
  const resumed = await runPlan({
    loaded: loadedPlan(steps),
    registry: registry(),
    store,
    context,
    printer,
    phaseGate: (phase) => {
      asked.push(phase);
      return Promise.resolve("never asked");
    },
  });
  assert.equal(resumed.outcome, "done");
  assert.deepEqual(asked, []);
  await cleanup();
});
