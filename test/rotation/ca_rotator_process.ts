/**
 * Runs ca-rotator as an operator would: `deno run -A main.ts …` in a process of its own, with the
 * environment it is given, its output captured.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const repo = new URL("../../", import.meta.url).pathname;

/** The exit code and the output of one run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main.ts args` from the repository with `env` (and NO_COLOR). */
export async function runCaRotator(
  env: Record<string, string>,
  args: readonly string[],
): Promise<RunResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), ...args],
    cwd: repo,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Fails with the end of stderr unless the run exited with `code`. */
export function assertExit(result: RunResult, code: number, what: string): void {
  assert.equal(
    result.code,
    code,
    `${what} exited ${result.code}, expected ${code}:\n${result.stderr.slice(-4000)}`,
  );
}

/** One line of `-o jsonl` output. */
export interface EventLine {
  readonly type: string;
  readonly step?: string;
  readonly [field: string]: unknown;
}

/**
 * Runs `main.ts args` (with `-o jsonl` among them) and sends `signal` once `at` holds for a line
 * it printed, as a cancelled job or a crash would stop it there; returns the exit code, the
 * lines and stderr. A run that ends before `at` holds is returned as it ended.
 */
export async function runUntil(
  env: Record<string, string>,
  args: readonly string[],
  at: (line: EventLine) => boolean,
  signal: Deno.Signal,
): Promise<{ code: number; lines: EventLine[]; stderr: string; signalled: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), ...args],
    cwd: repo,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: EventLine[] = [];
  let buffer = "";
  let signalled = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
      const line = JSON.parse(buffer.slice(0, end)) as EventLine;
      buffer = buffer.slice(end + 1);
      lines.push(line);
      if (!signalled && at(line)) {
        signalled = true;
        child.kill(signal);
      }
    }
  }
  const { code } = await child.status;
  return { code, lines, stderr: await stderr, signalled };
}
