/**
 * The bad-input corpus (cases.ts) run through `rotate` as an operator runs it — a subprocess
 * `deno run -A main.ts rotate --plan plans/demo.yaml …` in a directory of its own — against one
 * real control plane. Every case must exit with its code, say what its pattern says without a
 * stack trace, and change nothing: the node files and the objects ca-rotator owns are
 * compared with a snapshot taken before the corpus. A table of what each case printed follows;
 * last, the negative control: the good plan's first step applied must show up in the same
 * comparison as changed node files and objects.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster } from "../cluster/harness.ts";
import { writeCaFixtures } from "./ca_fixtures.ts";
import {
  appliedControlCase,
  type BadInputCase,
  badInputCases,
  controlCase,
  type CorpusInputs,
} from "./cases.ts";
import { settledSnapshot, snapshotChanges, snapshotCluster } from "./cluster_snapshot.ts";

const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
const config = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** How many cases run at once. */
const GROUP = 4;
const demoPlan = fileURLToPath(new URL("../../plans/local-demo.yaml", import.meta.url));

interface Outcome {
  readonly code: number;
  /** The error: the Error document's `error` with -o json, else stderr. */
  readonly error: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

async function runCase(
  dir: string,
  testCase: Omit<BadInputCase, "exitCode" | "message">,
  env: Record<string, string>,
): Promise<Outcome> {
  await Deno.mkdir(join(dir, "plans"), { recursive: true });
  const demo = await Deno.readTextFile(demoPlan);
  await Deno.writeTextFile(join(dir, "plans/demo.yaml"), (testCase.plan ?? String)(demo));
  const args = [
    "run",
    "-A",
    "--config",
    config,
    main,
    testCase.command ?? "rotate",
    "--plan",
    "plans/demo.yaml",
    ...testCase.args ?? [],
  ];
  if (testCase.json) args.push("-o", "json");
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: dir,
    env: { ...env, ...testCase.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const [stdout, stderr] = [text(output.stdout), text(output.stderr)];
  let error = stderr;
  if (testCase.json && output.code !== 0) {
    const doc = JSON.parse(stdout);
    assert.equal(doc.kind, "Error", stdout);
    assert.equal(doc.exitCode, output.code, stdout);
    error = doc.error;
  }
  return { code: output.code, error, stdout, stderr, ms: performance.now() - started };
}

async function kubeconfigVariant(admin: string, path: string, edits: [RegExp, string][]) {
  let text = await Deno.readTextFile(admin);
  for (const [from, to] of edits) {
    const edited = text.replace(from, to);
    assert.notEqual(edited, text, `the admin kubeconfig has no ${from}`);
    text = edited;
  }
  await Deno.writeTextFile(path, text);
}

Deno.test({
  name: "bad input: every case is refused with its exit code and message, and changes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  const work = await Deno.makeTempDir({ prefix: "ca-rotator-bad-inputs-" });
  try {
    const caDir = join(work, "ca");
    await Deno.mkdir(caDir);
    await writeCaFixtures(caDir);

    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = closed.addr.port;
    closed.close(); // nothing listens there any more: connection refused
    const kubeconfigs = {
      unreachable: join(work, "unreachable.conf"),
      otherCa: join(work, "other-ca.conf"),
      empty: join(work, "empty.conf"),
      notYaml: join(work, "not-yaml.conf"),
    };
    await kubeconfigVariant(cluster.kubeconfig, kubeconfigs.unreachable, [
      [/server: \S+/, `server: https://127.0.0.1:${closedPort}`],
    ]);
    const otherCa = btoa(await Deno.readTextFile(join(caDir, "other.crt")));
    await kubeconfigVariant(cluster.kubeconfig, kubeconfigs.otherCa, [
      [/certificate-authority-data: \S+/, `certificate-authority-data: ${otherCa}`],
    ]);
    await Deno.writeTextFile(kubeconfigs.empty, "");
    await Deno.writeTextFile(kubeconfigs.notYaml, "clusters: [ {name: broken\n\t- : :\n");

    const worker = cluster.workers[0];
    const notANode = join(work, "not-a-node");
    await Deno.mkdir(notANode);
    const strangerWorker = join(work, "stranger");
    const workerWithoutCa = join(work, "copy", worker.name);
    for (const copy of [strangerWorker, workerWithoutCa]) {
      await Deno.mkdir(copy, { recursive: true });
      const cp = await new Deno.Command("cp", { args: ["-a", `${worker.root}/.`, copy] }).output();
      assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
    }
    await Deno.remove(join(workerWithoutCa, "etc/kubernetes/pki/ca.crt"));

    const inputs: CorpusInputs = {
      caDir,
      kubeconfigs,
      admin: cluster.kubeconfig,
      notANode,
      nowhere: join(work, "nowhere"),
      strangerWorker,
      workerWithoutCa,
      nodeRoots: cluster.nodeRoots.join(" "),
    };
    const cases = badInputCases(inputs);
    assert.ok(cases.length >= 40, `${cases.length} cases`);

    const home = join(work, "home"); // no ~/.kube/config to fall back on
    await Deno.mkdir(home);
    // Deno's cache stays where it is when HOME moves.
    const denoDir = Deno.env.get("DENO_DIR") ??
      join(Deno.env.get("HOME") ?? "/root", ".cache/deno");
    const env = { ...cluster.env, HOME: home, DENO_DIR: denoDir, NO_COLOR: "1" };
    const baseline = await settledSnapshot(cluster);
    assert.ok(Object.keys(baseline.files).length > 50, "the snapshot sees the node files");

    const control = await runCase(join(work, "control"), controlCase(inputs), env);
    assert.equal(control.code, 0, `the control failed:\n${control.stderr.slice(-3000)}`);
    assert.equal(JSON.parse(control.stdout).kind, "RotateResult");
    assert.deepEqual(snapshotChanges(baseline, await snapshotCluster(cluster)), [], "dry run");

    const rows: string[][] = [];
    const failures: string[] = [];
    // Cases run a few at a time (each its own process and directory); the snapshot is compared
    // after every group, so a change is pinned to the (at most GROUP) cases that ran with it.
    for (let first = 0; first < cases.length; first += GROUP) {
      const group = cases.slice(first, first + GROUP);
      const outcomes = await Promise.all(
        group.map((testCase, offset) =>
          runCase(join(work, "cases", String(first + offset)), testCase, env)
        ),
      );
      for (const [offset, testCase] of group.entries()) {
        const outcome = outcomes[offset];
        const firstLine = outcome.error.trim().split("\n")[0].replace(/^error: /, "");
        rows.push([testCase.name, String(outcome.code), `${Math.round(outcome.ms)}`, firstLine]);
        const problems = outcomeProblems(testCase, outcome, control.ms);
        if (problems.length > 0) {
          failures.push(
            `${testCase.name}: ${problems.join(", ")}\n    stderr: ${
              outcome.stderr.trim().slice(-1500).replaceAll("\n", "\n    ")
            }`,
          );
        }
      }
      const changes = snapshotChanges(baseline, await snapshotCluster(cluster));
      if (changes.length > 0) {
        failures.push(
          `one of ${group.map((testCase) => `"${testCase.name}"`).join(", ")} changed: ${
            changes.slice(0, 20).join("; ")
          }`,
        );
      }
    }
    printTable(["case", "exit", "ms", "error (first line)"], rows);
    assert.deepEqual(failures, [], failures.join("\n"));

    // The negative control: a run that does change the cluster is seen by the same comparison.
    const applied = await runCase(join(work, "applied"), appliedControlCase(inputs), env);
    assert.equal(applied.code, 0, `the applied control failed:\n${applied.stderr.slice(-3000)}`);
    const changes = snapshotChanges(baseline, await snapshotCluster(cluster));
    console.log(`negative control (first step applied): ${changes.length} change(s)`);
    for (const change of changes) console.log(`  ${change}`);
    assert.ok(changes.some((c) => /:etc\/kubernetes\/pki\/\S+$/.test(c)), changes.join("\n"));
    assert.ok(
      changes.some((c) => c.includes("ConfigMap kube-system/ca-rotator-")),
      changes.join("\n"),
    );
  } finally {
    await cluster.stop();
    await Deno.remove(work, { recursive: true });
  }
});

/**
 * What is wrong with how a case ended (empty: it ended as it should). A case's `maxMs` counts
 * beyond `startupMs` (the control dry run's time): a loaded machine slows every process's start,
 * and the bound is about not waiting out a retry, not about start-up.
 */
function outcomeProblems(testCase: BadInputCase, outcome: Outcome, startupMs: number): string[] {
  const problems: string[] = [];
  if (outcome.code !== testCase.exitCode) {
    problems.push(`exit ${outcome.code}, expected ${testCase.exitCode}`);
  }
  if (!testCase.message.test(outcome.error)) {
    problems.push(`the error does not match ${testCase.message}`);
  }
  if (testCase.maxMs && outcome.ms > startupMs + testCase.maxMs) {
    problems.push(
      `took ${Math.round(outcome.ms)} ms (at most ${testCase.maxMs} beyond the control's ` +
        `${Math.round(startupMs)})`,
    );
  }
  const printed = outcome.stderr + outcome.stdout;
  if (/^\s+at .*:\d+:\d+\)?$/m.test(outcome.stderr)) problems.push("a stack trace");
  if (/localhost:8080/.test(printed)) problems.push("localhost:8080");
  if (/PRIVATE KEY-----/.test(printed)) problems.push("key material");
  return problems;
}

function printTable(header: string[], rows: string[][]): void {
  const clip = (text: string, width: number) =>
    text.length > width ? `${text.slice(0, width - 1)}…` : text;
  const widths = header.map((_, column) =>
    Math.min(
      column === 3 ? 140 : 70,
      Math.max(...[header, ...rows].map((row) => row[column].length)),
    )
  );
  const line = (row: string[]) =>
    row.map((cell, column) => clip(cell, widths[column]).padEnd(widths[column])).join("  ")
      .trimEnd();
  console.log(
    [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n"),
  );
}
