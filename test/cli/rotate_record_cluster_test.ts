/**
 * What a pipeline and a Kubernetes user see of a rotation: `rotate --output jsonl` as a
 * subprocess on the local control plane (1 API server, 1 worker), phase by phase, with every line
 * parsed; the Markdown summary of `--summary` and `$GITHUB_STEP_SUMMARY`; the Events on the
 * progress ConfigMap as `kubectl describe` shows them (none from a dry run); and `status`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster, type TestCluster } from "../cluster/harness.ts";
import { parse as parseYaml } from "yaml";
import { runCaRotator, type RunResult } from "../rotation/ca_rotator_process.ts";

const repo = new URL("../../", import.meta.url).pathname;
const PLAN_NAME = "local-demo";
const CONFIGMAP = `ca-rotator-${PLAN_NAME}`;

interface Line {
  apiVersion: string;
  kind: string;
  time: string;
  type: string;
  step?: string;
  [field: string]: unknown;
}

type Run = RunResult;

/** ca-rotator with the cluster's environment and `env` on top. */
function caRotator(
  cluster: TestCluster,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return runCaRotator({ ...cluster.env, ...env }, args);
}

/** Every stdout line parsed; each must be one JSON object with the schema's head. */
function parseLines(stdout: string): Line[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  return lines.map((line, index) => {
    const parsed = JSON.parse(line) as Line;
    assert.equal(parsed.apiVersion, "ca-rotator.dev/v1", `line ${index + 1}: apiVersion`);
    assert.equal(parsed.kind, "RotateEvent", `line ${index + 1}: kind`);
    assert.ok(!Number.isNaN(Date.parse(parsed.time)), `line ${index + 1}: time`);
    return parsed;
  });
}

interface PlanStep {
  id: string;
  phase: string;
}

/** Asserts the shape of one phase's stream: started … each step started and done … summary. */
function assertPhaseStream(lines: Line[], steps: PlanStep[], phase: string, next?: PlanStep) {
  const types = lines.map((line) => line.type);
  const counts = Object.entries(Object.groupBy(types, (type) => type))
    .map(([type, of]) => `${type} ${of!.length}`).join(", ");
  const waits = [
    ...new Set(lines.filter((line) => line.type === "Waiting").map((line) => `${line.step}`)),
  ];
  console.log(`${phase}: ${lines.length} lines (${counts}); waits in ${waits.join(", ")}`);
  assert.equal(types[0], "RunStarted");
  assert.deepEqual(types.slice(-2), ["RunFinished", "Summary"]);
  const summary = lines.at(-1)!;
  assert.equal(summary.outcome, "done");
  assert.equal(summary.exitCode, 0);
  const ran = steps.filter((step) => step.phase === phase).map((step) => step.id);
  const started = lines.filter((line) => line.type === "StepStarted").map((line) => line.step);
  const done = lines.filter((line) => line.type === "StepDone").map((line) => line.step);
  assert.deepEqual(started, ran, `every ${phase} step started, in order`);
  assert.deepEqual(done, ran, `every ${phase} step done, in order`);
  for (const id of ran) {
    const first = lines.findIndex((line) => line.type === "StepStarted" && line.step === id);
    const last = lines.findIndex((line) => line.type === "StepDone" && line.step === id);
    assert.ok(first < last, `${id} started before it was done`);
    for (const line of lines.slice(first + 1, last)) {
      if (line.step !== undefined) assert.equal(line.step, id, `${line.type} inside ${id}`);
    }
  }
  assert.equal(lines.filter((line) => line.type === "StepFailed").length, 0);
  if (next) {
    const stopped = lines.find((line) => line.type === "StoppedAfterPhase");
    assert.deepEqual(stopped?.next, { step: next.id, phase: next.phase });
    assert.deepEqual(summary.next, { step: next.id, phase: next.phase });
  }
}

/** A PEM private-key header followed by key material rather than the mask. */
const UNMASKED_KEY = /PRIVATE KEY-{5}(\n|\\n)\+?[A-Za-z0-9+/]{16}/;

/** Key files and the certificates that go with them (public: they may be shown). */
interface KeyMaterial {
  readonly keys: readonly string[];
  readonly certs: readonly string[];
}

const pemBody = (pem: string) =>
  pem.split("\n").filter((line) => line && !line.startsWith("-----")).join("");

/**
 * Fails if `text` holds an unmasked key, or any 16-character run of a key's body that is not
 * also in a certificate (a key's DER shares its algorithm header and public key with the
 * certificate, which is public and is shown in diffs).
 */
function assertNoKeys(text: string, material: KeyMaterial): void {
  assert.doesNotMatch(text, UNMASKED_KEY);
  const certs = material.certs.map(pemBody).join("\n");
  for (const key of material.keys) {
    const body = pemBody(key);
    let checked = 0;
    for (let i = 0; i + 16 <= body.length; i += 4) {
      const piece = body.slice(i, i + 16);
      if (certs.includes(piece)) continue;
      checked++;
      assert.ok(!text.includes(piece), `key material "${piece}" leaked`);
    }
    assert.ok(checked >= 8, "the private part of every key is checked");
  }
}

/** The CA keys and certificates of a rotation: the old ones (node 1) and the new ones (Secret). */
async function keyMaterial(cluster: TestCluster): Promise<KeyMaterial> {
  const pki = join(cluster.nodeRoots[0], "etc/kubernetes/pki");
  const read = (name: string) => Deno.readTextFile(join(pki, name));
  const keys = [await read("ca.key"), await read("front-proxy-ca.key")];
  const certs = [await read("ca.crt"), await read("front-proxy-ca.crt")];
  // The new CAs staged by the trust phase: their keys have left the Secret for the nodes.
  for (const base of ["ca-new", "front-proxy-ca-new"]) {
    const key = await read(`${base}.key`).catch(() => undefined);
    if (key !== undefined) keys.push(key);
  }
  const secret = await cluster.kubectlJson<{ data?: Record<string, string> }>([
    "get",
    "secret",
    "-n",
    "kube-system",
    `ca-rotator-${PLAN_NAME}-new-ca`,
  ]).catch(() => ({ data: {} as Record<string, string> }));
  for (const [name, value] of Object.entries(secret.data ?? {})) {
    if (name.endsWith(".key")) keys.push(atob(value));
    if (name.endsWith(".crt")) certs.push(atob(value));
  }
  return { keys, certs };
}

const merge = (a: KeyMaterial, b: KeyMaterial): KeyMaterial => ({
  keys: [...a.keys, ...b.keys],
  certs: [...a.certs, ...b.certs],
});

interface EventList {
  items: { reason: string; message: string; type: string; involvedObject: { name: string } }[];
}

async function configMapEvents(cluster: TestCluster) {
  const list = await cluster.kubectlJson<EventList>([
    "get",
    "events",
    "-n",
    "kube-system",
    "--field-selector",
    `involvedObject.kind=ConfigMap,involvedObject.name=${CONFIGMAP}`,
  ]);
  return list.items;
}

Deno.test({
  name: "rotate --output jsonl, the Markdown summary, Events on the progress ConfigMap, status",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  const work = await Deno.makeTempDir({ prefix: "ca-rotator-record-" });
  try {
    const plan = join(work, "local-demo.yaml");
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    const withStop = (phase: string) =>
      Deno.writeTextFile(plan, source.replace(/^stopAfter: .*$/m, `stopAfter: ${phase}`));
    const steps = (parseYaml(source) as { steps: PlanStep[] }).steps;
    const firstOf = (phase: string) => steps.find((step) => step.phase === phase)!;
    const stepSummary = join(work, "step-summary.md");
    const github = { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: stepSummary };
    const oldKeys = await keyMaterial(cluster);
    /** Everything ca-rotator printed or wrote, checked for keys once the new ones exist. */
    const outputs: string[] = [];
    let knownKeys = oldKeys;

    // A pod no roll replaces, started before the trust phase: the pod-trust gate holds the switch
    // on it (exit 3) until it is gone. (Its ServiceAccount comes a moment after the cluster.)
    await eventually(
      "the default ServiceAccount",
      () => cluster.kubectl(["get", "serviceaccount", "-n", "default", "default"]).catch(() => ""),
    );
    await cluster.kubectl([
      "run",
      "debug-shell",
      "-n",
      "default",
      "--image=busybox",
      "--restart=Never",
    ]);
    await eventually(
      "default/debug-shell running",
      async () =>
        (await cluster.kubectlJson<{ status: { phase?: string } }>(
          ["get", "pod", "debug-shell", "-n", "default"],
        )).status.phase === "Running",
    );

    await t.step("a dry run streams every step of every phase and records no Event", async () => {
      await withStop("trust");
      const run = await caRotator(
        cluster,
        ["rotate", "--plan", plan, "--dry-run", "--output", "jsonl"],
        github,
      );
      assert.equal(run.code, 0, run.stderr);
      const lines = parseLines(run.stdout);
      assert.equal(lines[0].type, "RunStarted");
      assert.equal(lines[0].dryRun, true);
      assert.deepEqual(
        lines.filter((line) => line.type === "StepDone").map((line) => line.step),
        steps.map((step) => step.id),
      );
      assert.ok(lines.some((line) => line.type === "ChangeApplied"), "planned changes");
      assert.equal(lines.filter((line) => line.type === "Waiting").length, 0);
      assert.equal(lines.at(-1)!.type, "Summary");
      const markdown = await Deno.readTextFile(stepSummary);
      outputs.push(run.stdout, run.stderr, markdown);
      assertNoKeys(outputs.join("\n"), oldKeys);
      assert.match(markdown, /## ca-rotator dry run: `local-demo`/);
      assert.match(markdown, /<details>\n<summary><code>distribute-cluster-ca<\/code>/);
      assert.match(markdown, /```diff\n/);
      assert.match(markdown, /\*\*Next:\*\* a run with `stopAfter: trust` runs \d+ steps/);
      assert.deepEqual(await configMapEvents(cluster), [], "a dry run records nothing");
      // As `kubectl diff`: --exit-code says "changes pending" by the exit code (4), in the
      // stream's Summary too.
      const pending = await caRotator(cluster, [
        "rotate",
        "--plan",
        plan,
        "--dry-run",
        "--exit-code",
        "--output",
        "jsonl",
      ]);
      assert.equal(pending.code, 4, pending.stderr);
      assert.equal(parseLines(pending.stdout).at(-1)!.exitCode, 4);
      // The impact of the whole plan, up front: restarts, rolls and gates.
      const json = await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run", "-o", "json"]);
      assert.equal(json.code, 0, json.stderr);
      const impact = JSON.parse(json.stdout).impact;
      const apiserver = impact.restarts.find((each: { component: string }) =>
        each.component === "kube-apiserver"
      );
      assert.deepEqual(apiserver, {
        component: "kube-apiserver",
        nodes: 1,
        times: 3,
        phases: ["trust", "switch", "finalize"],
      });
      assert.ok(impact.workloads.rolled > 0 && impact.workloads.times >= 2, JSON.stringify(impact));
      assert.deepEqual(
        impact.gates.map((gate: { step: string }) => gate.step),
        ["pod-trust-gate", "kubelet-rotation-gate", "pod-trust-final"],
      );
      const text = await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run"]);
      assert.match(
        text.stdout,
        /\nImpact of the rest of the plan:\n {2}[\s\S]*kube-apiserver restarts 3 times on its node \(trust, switch, finalize\)/,
      );
    });

    await t.step("trust: the stream, the summary file and the Events", async () => {
      const summaryFile = join(work, "trust.md");
      const run = await caRotator(cluster, [
        "rotate",
        "--plan",
        plan,
        "--output",
        "jsonl",
        "--summary",
        summaryFile,
        "--timestamps",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const lines = parseLines(run.stdout);
      assertPhaseStream(lines, steps, "trust", firstOf("switch"));
      const waits = lines.filter((line) => line.type === "Waiting");
      assert.ok(waits.length > 0, "the trust phase waits (restarts, root CA ConfigMaps)");
      for (const wait of waits) {
        assert.ok(Date.parse(wait.deadline as string) > Date.parse(wait.since as string));
      }
      // A wait's first event is sent as it begins, before its condition is first checked; the
      // later ones of a counted wait carry the counts (the rollouts always wait; the root CA
      // ConfigMaps only when the controller-manager has not published them all yet).
      assert.ok(
        waits.some((wait) => typeof wait.total === "number"),
        "a counted wait reports its counts",
      );
      const rootCaWaits = waits.filter((wait) => wait.step === "wait-root-ca-bundle");
      for (const wait of rootCaWaits.slice(1)) {
        assert.equal(typeof wait.total, "number", "the root CA wait counts namespaces");
      }
      for (const line of run.stderr.split("\n").filter((line) => line.startsWith("["))) {
        assert.fail(`a log line without a timestamp: ${line}`);
      }
      assert.match(
        run.stderr,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[distribute-cluster-ca\]/m,
      );
      const markdown = await Deno.readTextFile(summaryFile);
      assert.match(markdown, /\| Outcome \| ✅ done \|/);
      assert.match(markdown, /\*\*Next:\*\* phase `switch` starts at step `[a-z-]+` once a commit/);
      // The timeline of the recorded steps: every trust step, done, in a Mermaid Gantt chart.
      const chart = markdown.match(/### Timeline\n\n```mermaid\ngantt\n([\s\S]*?)```/);
      assert.ok(chart, "a timeline");
      for (const step of steps.filter((each) => each.phase === "trust")) {
        assert.match(chart[1], new RegExp(`^ {2}${step.id} :done, t\\d+, \\d{4}-`, "m"), step.id);
      }
      const withTimeline = await caRotator(cluster, ["status", "--plan", plan, "--timeline"]);
      assert.equal(withTimeline.code, 0, withTimeline.stderr);
      assert.match(withTimeline.stdout, /```mermaid\ngantt\n[\s\S]* {2}section trust\n/);
      outputs.push(run.stdout, run.stderr, markdown);
      const keys = await keyMaterial(cluster);
      assert.equal(keys.keys.length, 4, "the old and the new CA keys");
      assertNoKeys(outputs.join("\n"), keys);
      knownKeys = keys;

      const events = await configMapEvents(cluster);
      const trust = steps.filter((step) => step.phase === "trust");
      for (const step of trust) {
        for (const reason of ["StepStarted", "StepDone"]) {
          assert.ok(
            events.some((event) =>
              event.reason === reason && event.message.startsWith(`[${step.id}]`)
            ),
            `${reason} Event for ${step.id}`,
          );
        }
      }
      assert.ok(events.some((event) => event.reason === "RotationStopped"));
      const described = await cluster.kubectl([
        "describe",
        "configmap",
        "-n",
        "kube-system",
        CONFIGMAP,
      ]);
      assert.match(described, /Events:/);
      assert.match(described, /StepDone\s+\S+\s+ca-rotator\s+\[distribute-cluster-ca\] done/);
    });

    await t.step("status after trust: the phase and what the next run would do", async () => {
      const run = await caRotator(cluster, ["status", "--plan", plan, "--output", "json"]);
      assert.equal(run.code, 0, run.stderr);
      const status = JSON.parse(run.stdout);
      assert.equal(status.phase, "switch");
      assert.deepEqual(status.phasesDone, ["trust"]);
      assert.equal(status.next.action, "wait-for-stop-after");
      assert.equal(status.next.step, firstOf("switch").id);
      const text = await caRotator(cluster, ["status", "--plan", plan]);
      assert.match(text.stdout, /^phase: switch \(done: trust\); stopAfter: trust$/m);
      assert.match(text.stdout, /^next run: nothing until stopAfter moves to "switch"/m);
    });

    await t.step(
      "switch held at the gate: exit 3, GateReached, a Warning Event, status",
      async () => {
        await withStop("switch");
        const summaryFile = join(work, "gate.md");
        const run = await caRotator(
          cluster,
          ["rotate", "--plan", plan, "--output", "jsonl", "--summary", summaryFile],
        );
        assert.equal(run.code, 3, run.stderr);
        const lines = parseLines(run.stdout);
        outputs.push(run.stdout, run.stderr);
        const gate = firstOf("switch").id;
        assert.deepEqual(lines.slice(-3).map((line) => `${line.type} ${line.step ?? ""}`), [
          `GateReached ${gate}`,
          "RunFinished ",
          "Summary ",
        ]);
        const held = lines.find((line) => line.type === "GateReached")!;
        assert.match(held.message as string, /default\/debug-shell/);
        const summary = lines.at(-1)!;
        assert.equal(summary.outcome, "gate");
        assert.equal(summary.exitCode, 3);
        assert.deepEqual(summary.next, { step: gate, phase: "switch" });
        const markdown = await Deno.readTextFile(summaryFile);
        outputs.push(markdown);
        assert.match(markdown, /\| Outcome \| ⏸️ stopped at a gate \(exit 3\) \|/);
        assert.match(markdown, new RegExp(`\\*\\*Next:\\*\\* a run retries the gate \`${gate}\``));
        const described = await cluster.kubectl([
          "describe",
          "configmap",
          "-n",
          "kube-system",
          CONFIGMAP,
        ]);
        assert.match(
          described,
          new RegExp(`Warning\\s+GateReached\\s+\\S+\\s+ca-rotator\\s+\\[${gate}\\] gate closed`),
        );
        const status = JSON.parse(
          (await caRotator(cluster, ["status", "--plan", plan, "--output", "json"])).stdout,
        );
        assert.equal(status.next.action, "recheck-gate");
        assert.equal(status.next.step, gate);
        await cluster.kubectl([
          "delete",
          "pod",
          "debug-shell",
          "-n",
          "default",
          "--grace-period=0",
          "--force",
        ]);
      },
    );

    await t.step("switch and finalize, each a commit moving stopAfter", async () => {
      for (
        const [phase, next] of [["switch", firstOf("finalize")], ["finalize", undefined]] as const
      ) {
        await withStop(phase);
        const run = await caRotator(cluster, ["rotate", "--plan", plan, "--output", "jsonl"]);
        assert.equal(run.code, 0, `${phase}: ${run.stderr}`);
        const lines = parseLines(run.stdout);
        assertPhaseStream(lines, steps, phase, next);
        const attempts = lines.filter((line) => line.type === "StepStarted").map((line) =>
          line.attempt
        );
        assert.deepEqual(
          attempts,
          steps.filter((step) => step.phase === phase).map((_, index) =>
            phase === "switch" && index === 0 ? 2 : 1
          ),
          `${phase}: the gate's second attempt, every other step's first`,
        );
        const skipped = lines.filter((line) => line.type === "StepSkipped").map((line) =>
          line.step
        );
        assert.deepEqual(
          skipped,
          steps.filter((step) =>
            step.phase !== phase && (phase === "finalize" || step.phase === "trust")
          )
            .map((step) => step.id),
          `${phase}: the steps done before are skipped`,
        );
        outputs.push(run.stdout, run.stderr);
      }
      const status = JSON.parse(
        (await caRotator(cluster, ["status", "--plan", plan, "--output", "json"])).stdout,
      );
      assert.equal(status.phase, "complete");
      assert.equal(status.next.action, "none");
      assertNoKeys(outputs.join("\n"), merge(knownKeys, await keyMaterial(cluster)));
      const finalize = steps.filter((step) => step.phase === "finalize");
      const events = await configMapEvents(cluster);
      assert.ok(
        finalize.every((step) =>
          events.some((event) =>
            event.reason === "StepDone" && event.message.startsWith(`[${step.id}]`)
          )
        ),
        "every finalize step has its StepDone Event",
      );
      const nothing = await caRotator(cluster, [
        "rotate",
        "--plan",
        plan,
        "--dry-run",
        "--exit-code",
      ]);
      assert.equal(nothing.code, 0, `nothing left to change: ${nothing.stderr}`);
      assert.match(nothing.stdout, /No changes\./);
      const withoutDryRun = await caRotator(cluster, ["rotate", "--plan", plan, "--exit-code"]);
      assert.equal(withoutDryRun.code, 2);
      assert.match(withoutDryRun.stderr, /--exit-code goes with --dry-run/);
    });
  } finally {
    await cluster.stop();
    await Deno.remove(work, { recursive: true });
  }
});
