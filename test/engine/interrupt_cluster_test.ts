/**
 * Cancellation on the real control plane, as a cancelled pipeline job sends it: `rotate` gets
 * SIGTERM (or SIGINT) while a step waits, stops at the next safe point, records an interrupted
 * step with the reason, releases the run lock and exits 143 (130); a run killed outright leaves
 * the lock to a holder whose process is gone, which the next run on this host takes over at once
 * and finishes the phase; a holder on another host is named with its expiry until
 * `unlock --confirm` frees it. Started as a pipeline starts it, `deno task rotate` in a process
 * group of its own, one SIGTERM to the group (which `deno task` forwards to its child as well, so
 * ca-rotator receives copies) is one request to stop; a second, different signal exits at once and
 * leaves the lock held — the harm the first case would show. (The copy window and a second
 * signal's abort at once: src/app/interrupt_test.ts.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { apiServerReady, startCluster, type TestCluster } from "../cluster/harness.ts";
import { holdRunLockElsewhere } from "../rotation/fixtures.ts";

const repo = new URL("../../", import.meta.url).pathname;
/**
 * plans/local-demo.yaml up to the switch: the interrupted runs below each use up a wait or a step,
 * and the trust phase alone has too few for all of them.
 */
const PLAN = join(await Deno.makeTempDir({ prefix: "interrupt-plan-" }), "local-demo.yaml");
await Deno.writeTextFile(
  PLAN,
  (await Deno.readTextFile(join(repo, "plans/local-demo.yaml")))
    .replace(/^stopAfter: .*$/m, "stopAfter: switch"),
);

interface Line {
  type: string;
  step?: string;
  [field: string]: unknown;
}

/**
 * Starts `rotate -o jsonl`, sends `signals` once a step is waiting (the first `Waiting` line),
 * and returns the exit code, the parsed lines and stderr. `via: "run"` starts `deno run main.ts`
 * and signals that process; `via: "task"` starts `deno task rotate` under `setsid`, as a CI runner
 * starts a job in a process group of its own, and sends each signal to the whole group.
 */
async function interruptedRun(
  cluster: TestCluster,
  signals: Deno.Signal[],
  via: "run" | "task" = "run",
) {
  await apiServerReady(cluster);
  const rotate = ["rotate", "--plan", PLAN, "-o", "jsonl"];
  const child = new Deno.Command(via === "run" ? Deno.execPath() : "setsid", {
    args: via === "run"
      ? ["run", "-A", join(repo, "main.ts"), ...rotate]
      : [Deno.execPath(), "task", ...rotate],
    cwd: repo,
    env: { ...cluster.env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const send = (signal: Deno.Signal) => {
    if (via === "run") return child.kill(signal);
    // setsid execs in place (the child is no group leader), so the task's pid is its group's id.
    assert.equal(processGroup(child.pid), child.pid, "deno task leads a process group of its own");
    Deno.kill(-child.pid, signal);
  };
  const stderr = new Response(child.stderr).text();
  const lines: Line[] = [];
  let buffer = "";
  let sent = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
      const line = JSON.parse(buffer.slice(0, end)) as Line;
      buffer = buffer.slice(end + 1);
      lines.push(line);
      if (!sent && line.type === "Waiting") {
        sent = true;
        for (const signal of signals) send(signal);
      }
    }
  }
  const { code } = await child.status;
  return { code, lines, stderr: await stderr, pid: child.pid };
}

/** The process group of a process (field 5 of /proc/PID/stat, after the parenthesised name). */
function processGroup(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

async function lockHolder(cluster: TestCluster): Promise<string | undefined> {
  await apiServerReady(cluster);
  const lease = await cluster.kubectlJson<{ spec: { holderIdentity?: string } }>(
    ["get", "lease", "-n", "kube-system", "ca-rotator-local-demo"],
  );
  return lease.spec.holderIdentity;
}

/** Every step's record in the progress ConfigMap, by id. */
async function stepRecords(
  cluster: TestCluster,
): Promise<Record<string, { status: string; error?: string }>> {
  await apiServerReady(cluster);
  const configMap = await cluster.kubectlJson<{ data: Record<string, string> }>(
    ["get", "configmap", "-n", "kube-system", "ca-rotator-local-demo"],
  );
  return JSON.parse(configMap.data.steps);
}

async function stepRecord(cluster: TestCluster, step: string) {
  return (await stepRecords(cluster))[step];
}

Deno.test({
  name: "SIGTERM and SIGINT stop rotate at a safe point; the next run resumes",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  try {
    for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
      await t.step(
        `${signal} while a step waits: it stops at the next safe point, releases the lock, exits ${code}`,
        async () => {
          const run = await interruptedRun(cluster, [signal]);
          const waiting = run.lines.find((line) => line.type === "Waiting")!;
          const interrupted = run.lines.find((line) => line.type === "StepInterrupted");
          console.log(
            `${signal} while ${waiting.step} waited: exit ${run.code}; stopped ` +
              (interrupted ? `in ${interrupted.step}` : "between steps"),
          );
          assert.equal(run.code, code, run.stderr);
          assert.match(run.stderr, new RegExp(`${signal}: stopping at the next safe point`));
          const summary = run.lines.at(-1)!;
          assert.deepEqual([summary.type, summary.outcome, summary.exitCode], [
            "Summary",
            "interrupted",
            code,
          ]);
          if (interrupted) {
            // Stopped inside a step (its wait): the step is recorded with the reason.
            assert.equal(interrupted.reason, `interrupted by ${signal}`);
            const record = await stepRecord(cluster, interrupted.step!);
            assert.deepEqual([record.status, record.error], [
              "interrupted",
              `interrupted by ${signal}`,
            ]);
          } else {
            // The wait was over when the signal came: the step finished, the next never started.
            assert.equal((await stepRecord(cluster, waiting.step!)).status, "done");
          }
          assert.equal(await lockHolder(cluster), undefined, "the lock is released");
        },
      );
    }

    await t.step(
      "deno task rotate in its own process group, one SIGTERM to the group: one request, exit 143",
      async () => {
        // The runtime merges copies it has not yet handled, so whether ca-rotator sees one or two
        // varies from run to run (two in about one run in four here; the old counting aborted at
        // once on those): eight runs, each held to the whole contract.
        for (let attempt = 1; attempt <= 8; attempt++) {
          const run = await interruptedRun(cluster, ["SIGTERM"], "task");
          const waiting = run.lines.find((line) => line.type === "Waiting")!;
          const interrupted = run.lines.find((line) => line.type === "StepInterrupted");
          const copies = run.stderr.match(/SIGTERM again \d+ ms after the first/g) ?? [];
          console.log(
            `group SIGTERM through deno task while ${waiting.step} waited: exit ${run.code}; ` +
              `${copies.length} cop${copies.length === 1 ? "y" : "ies"} taken as the same ` +
              `request; stopped ${interrupted ? `in ${interrupted.step}` : "between steps"}`,
          );
          // 143 either way (an abort at once exits with the signal's code too): the lock and the
          // record tell a stop at a safe point from an abort.
          assert.equal(run.code, 143, run.stderr);
          assert.equal(await lockHolder(cluster), undefined, `the lock is released\n${run.stderr}`);
          if (interrupted) {
            // Stopped inside a step (the one that waited, or the next if its wait had just
            // ended): that step is recorded interrupted, with the reason.
            const record = await stepRecord(cluster, interrupted.step!);
            assert.deepEqual([record.status, record.error], [
              "interrupted",
              "interrupted by SIGTERM",
            ], `the step it stopped in is recorded interrupted\n${run.stderr}`);
            assert.equal(interrupted.reason, "interrupted by SIGTERM");
          } else {
            // The waiting step finished as the signal came: stopped at the safe point before
            // the next step, no step left running.
            const steps = Object.entries(await stepRecords(cluster));
            assert.deepEqual(
              steps.filter(([, record]) => record.status === "running").map(([id]) => id),
              [],
              `no step is left running\n${run.stderr}`,
            );
          }
          const summary = run.lines.at(-1)!;
          assert.deepEqual([summary.type, summary.outcome, summary.exitCode], [
            "Summary",
            "interrupted",
            143,
          ]);
          assert.match(run.stderr, /SIGTERM: stopping at the next safe point/);
          assert.doesNotMatch(run.stderr, /aborting at once/);
        }
      },
    );

    await t.step(
      "negative control: a second signal to the group (SIGTERM, then SIGINT) exits at once, lock held",
      async () => {
        const run = await interruptedRun(cluster, ["SIGTERM", "SIGINT"], "task");
        const waiting = run.lines.find((line) => line.type === "Waiting")!;
        console.log(
          `group SIGTERM and SIGINT through deno task while ${waiting.step} waited: exit ${run.code}`,
        );
        assert.match(run.stderr, /aborting at once/, run.stderr);
        // The second signal's code (SIGINT's, unless the runtime handled the two in the other order).
        assert.ok([130, 143].includes(run.code), run.stderr);
        assert.notEqual(run.lines.at(-1)?.type, "Summary", "no summary: it did not stop in order");
        const holder = await lockHolder(cluster);
        assert.ok(holder, "the run exited with the lock held");
        assert.notEqual((await stepRecord(cluster, waiting.step!)).status, "interrupted");
      },
    );

    await t.step(
      "a run killed outright leaves its lock to a dead holder: the next run on this host takes it at once",
      async () => {
        const run = await interruptedRun(cluster, ["SIGKILL"]);
        console.log(`SIGKILL: exit ${run.code}`);
        assert.equal(run.code, 137);
        const holder = await lockHolder(cluster);
        assert.match(holder ?? "", new RegExp(`/${run.pid}$`), "the killed run still holds it");

        await apiServerReady(cluster);
        const resumed = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", join(repo, "main.ts"), "rotate", "--plan", PLAN],
          cwd: repo,
          env: { ...cluster.env, NO_COLOR: "1" },
        }).output();
        const stderr = new TextDecoder().decode(resumed.stderr);
        assert.equal(resumed.code, 0, stderr);
        assert.match(
          stderr,
          new RegExp(
            `took the rotation lock over from .*/${run.pid}: process ${run.pid} is gone from this host`,
          ),
        );
        assert.match(stderr, /stopping after phase "switch"/);
        assert.equal(await lockHolder(cluster), undefined);
      },
    );

    await t.step(
      "a holder on another host: rotate says who and until when; unlock --confirm frees it",
      async () => {
        await holdRunLockElsewhere(
          cluster,
          "local-demo",
          "ci-runner-7/4242 https://ci.example/runs/9",
        );
        const command = (...args: string[]) =>
          new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", join(repo, "main.ts"), ...args],
            cwd: repo,
            env: { ...cluster.env, NO_COLOR: "1" },
          }).output();
        const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
        const refused = await command("rotate", "--plan", PLAN);
        assert.equal(refused.code, 1);
        assert.match(
          text(refused.stderr),
          /ci-runner-7\/4242 https:\/\/ci.example\/runs\/9, renewed \d+ s ago; it expires in \d+ s/,
        );
        const unconfirmed = await command("unlock", "--plan", PLAN);
        assert.equal(unconfirmed.code, 2);
        assert.match(text(unconfirmed.stderr), /add --confirm/);
        assert.equal(await lockHolder(cluster), "ci-runner-7/4242 https://ci.example/runs/9");
        const unlocked = await command("unlock", "--plan", PLAN, "--confirm");
        assert.equal(unlocked.code, 0, text(unlocked.stderr));
        assert.match(text(unlocked.stderr), /released the run lock .* held by ci-runner-7\/4242/);
        const after = await command("rotate", "--plan", PLAN);
        assert.equal(after.code, 0, text(after.stderr));
      },
    );
  } finally {
    await cluster.stop();
  }
});
