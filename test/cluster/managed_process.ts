/**
 * A child process whose output goes straight to a log file (no copying through Deno) and
 * that can be stopped the way the kubelet stops a container: SIGTERM, then SIGKILL after a
 * grace period.
 * @module
 */

/** How to start a {@linkcode ManagedProcess}. */
export interface ProcessSpec {
  /** Program and arguments. */
  argv: string[];
  /** File that receives stdout and stderr (appended). */
  logFile: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** A running (or exited) child process. */
export class ManagedProcess {
  /** Resolves with the exit status once the process has ended. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #done = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.exited = child.status.then((status) => {
      this.#done = true;
      return status;
    });
  }

  /** Starts a process; `sh -c 'exec …'` keeps the pid that of the program itself. */
  static spawn(spec: ProcessSpec): ManagedProcess {
    const child = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null',
        "sh",
        spec.logFile,
        ...spec.argv,
      ],
      env: spec.env,
      cwd: spec.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return new ManagedProcess(child);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get done(): boolean {
    return this.#done;
  }

  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves once it has ended. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    if (!this.#done) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // already gone
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    return await this.exited;
  }
}

/** Runs a command to completion, returning its combined output; throws with the output on failure. */
export async function runCommand(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {},
): Promise<string> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) {
    throw new Error(`${argv.slice(0, 6).join(" ")} failed (exit ${code}):\n${(err || out).trim()}`);
  }
  return out + err;
}
