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
