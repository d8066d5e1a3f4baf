/**
 * Runs `rotate --output jsonl` as a process and SIGKILLs it the moment a chosen event arrives
 * (docs/events.md): the k-th `ChangeApplied` of a step, its first `Waiting`, its `StepDone` …
 * A kill point is named `step/Type#k`, k counting that type's lines of that step in this run;
 * `step/Type#k+Nms` kills N ms after that line instead (the middle of a step that reports
 * nothing while it writes: the runner reports a step's ChangeApplied lines once its apply is
 * over).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const repo = new URL("../../", import.meta.url).pathname;

/** One line of the event stream. */
export interface EventLine {
  readonly type: string;
  readonly step?: string;
  readonly [field: string]: unknown;
}

/** Where to kill a run: on the `k`-th line of `type` for `step`, or `afterMs` after it. */
export interface KillPoint {
  readonly step: string;
  readonly type: "StepStarted" | "ChangeApplied" | "Waiting" | "StepDone";
  readonly k: number;
  readonly afterMs?: number;
}

/** `step/Type#k`, or `step/Type#k+Nms`. */
export function pointName(point: KillPoint): string {
  return `${point.step}/${point.type}#${point.k}${point.afterMs ? `+${point.afterMs}ms` : ""}`;
}

/** How a run ended: killed at a point, or by itself with its exit code. */
export interface KilledRun {
  readonly code: number;
  readonly pid: number;
  readonly lines: readonly EventLine[];
  readonly stderr: string;
  /** The point the run was killed at, if it was. */
  readonly killedAt?: KillPoint;
  /** The last line before the kill (`step/Type`): where a timed kill landed. */
  readonly lastLine?: string;
}

/**
 * Starts `main.ts rotate --plan plan -o jsonl` with `env` and kills it (SIGKILL) at the first
 * line that is the k-th of one of `points` — or, when `killWhen` says no yet, at the first such
 * line after it says yes.
 */
export async function runUntilKilled(
  env: Record<string, string>,
  plan: string,
  points: readonly KillPoint[],
  options: { killWhen?: () => boolean } = {},
): Promise<KilledRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), "rotate", "--plan", plan, "-o", "jsonl"],
    cwd: repo,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: EventLine[] = [];
  const seen = new Map<string, number>();
  let armed: KillPoint | undefined;
  let killedAt: KillPoint | undefined;
  let lastLine: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = (point: KillPoint) => {
    const last = lines.at(-1);
    lastLine = last ? `${last.step ?? ""}/${last.type}` : undefined;
    child.kill("SIGKILL");
    killedAt = point;
  };
  let buffer = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
      const line = JSON.parse(buffer.slice(0, end)) as EventLine;
      buffer = buffer.slice(end + 1);
      lines.push(line);
      if (armed || !line.step) continue;
      const key = `${line.step}/${line.type}`;
      const k = (seen.get(key) ?? 0) + 1;
      seen.set(key, k);
      const point = points.find((each) =>
        each.step === line.step && each.type === line.type && each.k <= k
      );
      if (point && (options.killWhen?.() ?? true)) {
        armed = point;
        if (point.afterMs) timer = setTimeout(() => kill(point), point.afterMs);
        else kill(point);
      }
    }
  }
  clearTimeout(timer);
  const { code } = await child.status;
  return { code, pid: child.pid, lines, stderr: await stderr, killedAt, lastLine };
}

/**
 * {@link runUntilKilled} at one point, asserting the run reached it and died of SIGKILL (`what`
 * names the run in the messages); prints where the kill landed and how long the run took.
 */
export async function runKilledAt(
  env: Record<string, string>,
  plan: string,
  point: KillPoint,
  what: string,
): Promise<KilledRun> {
  const started = Date.now();
  const killed = await runUntilKilled(env, plan, [point]);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  assert.ok(
    killed.killedAt,
    `${what} reached ${pointName(point)} (exit ${killed.code}):\n` + killed.stderr.slice(-4000),
  );
  assert.equal(killed.code, 137, `${what} died of SIGKILL`);
  console.log(`${what}: killed at ${pointName(point)} after ${killed.lastLine}, ${seconds} s`);
  return killed;
}
