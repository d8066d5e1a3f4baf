/**
 * The multiplexed ssh connections of one run: OpenSSH ControlMaster sockets in a private
 * directory (0700) of their own, one master connection per host for the whole run, closed
 * (`ssh -O exit`) and the directory removed at the end of the run.
 * @module
 */

/** How long an idle master connection outlives its last use if the run dies without closing it. */
const PERSIST = "10m";

/** The prefix of a run's socket directory (and 16 random characters after it). */
const DIR_PREFIX = "ca-rotator-ssh-";

/**
 * The longest socket path the system takes: `sun_path` holds 108 bytes, the terminating NUL
 * included.
 */
const SOCKET_PATH_MAX = 107;

/**
 * Where a run's socket directory goes: the temporary directory (`$TMPDIR`), unless a master's
 * socket there would be longer than a Unix socket path may be — `<dir>/<prefix><16>/<%C: 40>`,
 * and ssh binds it first as `<path>.<17 random characters>` — then `/tmp` (a CI runner's
 * `$TMPDIR` is often deep: ssh would refuse with "ControlPath too long").
 */
export function socketDirParent(tmpdir: string | undefined): string | undefined {
  const base = tmpdir || "/tmp";
  const longest = base.length + 1 + DIR_PREFIX.length + 16 + 1 + 40 + 1 + 17;
  return longest <= SOCKET_PATH_MAX ? undefined : "/tmp";
}

/** The control sockets of one run. */
export class SshConnections {
  #dir: string | undefined;
  #creating: Promise<string> | undefined;
  readonly #masters = new Map<string, readonly string[]>();

  /** The `-o` options that make a connection use (or become) the host's master. */
  async options(): Promise<string[]> {
    this.#creating ??= Deno.makeTempDir({
      dir: socketDirParent(Deno.env.get("TMPDIR")),
      prefix: DIR_PREFIX,
    }).then(async (dir) => {
      await Deno.chmod(dir, 0o700);
      this.#dir = dir;
      return dir;
    });
    const dir = await this.#creating;
    return ["ControlMaster=auto", `ControlPath=${dir}/%C`, `ControlPersist=${PERSIST}`];
  }

  /** Remembers how to reach a host's master, so that {@linkcode close} can end it. */
  remember(key: string, destinationArgs: readonly string[]): void {
    this.#masters.set(key, destinationArgs);
  }

  /** Ends every master connection and removes the socket directory. */
  async close(): Promise<void> {
    const dir = this.#dir;
    if (!dir) return;
    const control = await this.options();
    await Promise.all(
      [...this.#masters.values()].map((args) =>
        new Deno.Command("ssh", {
          args: [...control.flatMap((option) => ["-o", option]), "-O", "exit", ...args],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output().catch(() => undefined)
      ),
    );
    this.#masters.clear();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    this.#dir = undefined;
    this.#creating = undefined;
  }
}
