/**
 * The multiplexed ssh connections of one run: OpenSSH ControlMaster sockets in a private
 * directory (0700) of their own, one master connection per host for the whole run, closed
 * (`ssh -O exit`) and the directory removed at the end of the run.
 * @module
 */

/** How long an idle master connection outlives its last use if the run dies without closing it. */
const PERSIST = "10m";

/** The control sockets of one run. */
export class SshConnections {
  #dir: string | undefined;
  #creating: Promise<string> | undefined;
  readonly #masters = new Map<string, readonly string[]>();

  /** The `-o` options that make a connection use (or become) the host's master. */
  async options(): Promise<string[]> {
    this.#creating ??= Deno.makeTempDir({ prefix: "ca-rotator-ssh-" }).then(async (dir) => {
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
