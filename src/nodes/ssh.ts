/**
 * The `ssh` node driver: reaches a node with the system ssh client (keys from the agent or an
 * identity file; host keys pinned in a known_hosts file; no password prompts). One multiplexed
 * connection per host serves the whole run ({@linkcode SshConnections}). Reads fetch a whole
 * directory in one round trip and keep it for a moment (a write, a removal or a command on the
 * node forgets it); files are written atomically through a temporary file that is removed when
 * the write fails, and every write and removal backs the old file up first. Every failure names
 * the host and says why ({@linkcode SshError}). The scripts it sends and the reading of their
 * replies are its shell protocol (`_shell_protocol.ts`); this file is the transport.
 * @module
 */
import { posix } from "node:path";
import type { CommandResult, FileWrite, PriorFile, StagedFiles, WriteOptions } from "./node_io.ts";
import { filesAsOf } from "./backup_journal.ts";
import type { SshConnections } from "./ssh_connections.ts";
import { classifyFailure, describeTarget, SshError } from "./ssh_failure.ts";
import {
  commandLine,
  commitScript,
  type DirectoryListing,
  discardScript,
  linkScript,
  listingScript,
  parseListing,
  READ_MISSING,
  readScript,
  remoteScript,
  stageScript,
  writeFailure,
  writeScript,
} from "./_shell_protocol.ts";

export { SshError } from "./ssh_failure.ts";

/** How to reach one host. */
export interface SshNodeOptions {
  readonly name: string;
  readonly address: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  /** The known_hosts file that pins the host keys (checked strictly). */
  readonly knownHostsFile?: string;
  /** Run every command through `sudo -n`. */
  readonly sudo?: boolean;
  /** Where backups go, as a path on the node. */
  readonly backupDir: string;
  /** Extra `-o` options. */
  readonly sshOptions?: readonly string[];
  /** The run's multiplexed connections; without them every round trip connects anew. */
  readonly connections?: SshConnections;
}

/** How long a fetched directory answers reads without another round trip. */
const DIRECTORY_FRESH_MS = 3_000;

/** A node reached over ssh. */
export class SshNode {
  readonly name: string;
  readonly #options: SshNodeOptions;
  readonly #listings = new Map<string, Promise<DirectoryListing>>();
  #roundTrips = 0;

  constructor(options: SshNodeOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** The ssh round trips (remote commands) made so far. */
  roundTrips(): number {
    return this.#roundTrips;
  }

  /**
   * Opens the host's connection (the run's master, when multiplexed) and checks that commands
   * run there (with sudo, without a password): a run checks every node before it changes any.
   */
  async connect(): Promise<void> {
    this.#check(await this.#shell("true"), "connect");
  }

  async readFile(path: string): Promise<string | undefined> {
    const dir = posix.dirname(path);
    const name = posix.basename(path);
    let pending = this.#listings.get(dir);
    if (!pending || Date.now() - (await pending.catch(() => ({ at: 0 }))).at > DIRECTORY_FRESH_MS) {
      // Concurrent reads of one directory share one round trip.
      pending = this.#shell(listingScript(dir)).then((result) => {
        this.#check(result, `read ${dir}`);
        return parseListing(result.stdout);
      });
      this.#listings.set(dir, pending);
      pending.catch(() => this.#listings.delete(dir));
    }
    const listing = await pending;
    if (!listing.exists) return undefined;
    const content = listing.files.get(name);
    if (content !== undefined) return content;
    if (!listing.others.has(name)) return undefined;
    const result = await this.#shell(readScript(path));
    if (result.code === READ_MISSING) return undefined;
    this.#check(result, `read ${path}`);
    return result.stdout;
  }

  /**
   * Points `path` at `target`; a target in the same directory tree is linked relatively, which
   * means the same on the node and stays right wherever the directory is mounted.
   */
  async link(target: string, path: string): Promise<void> {
    this.#forget();
    this.#check(await this.#shell(linkScript(target, path)), `link ${path} to ${target}`);
  }

  async writeFile(path: string, content: string, options: WriteOptions = {}): Promise<void> {
    await this.writeFiles([{ path, content, mode: options.mode }]);
  }

  /**
   * Writes and removes files in order in one round trip, each backed up first; a write goes to a
   * temporary file renamed over the file only when written whole (a failed one is removed, the
   * file left as it was), and the first failure stops the batch, naming its file.
   */
  async writeFiles(files: readonly FileWrite[]): Promise<void> {
    if (files.length === 0) return;
    this.#forget();
    const { script, stdin } = writeScript(files, this.#options.backupDir);
    this.#checkWrite(await this.#shell(script, stdin), files, "is unchanged");
  }

  async removeFile(path: string): Promise<void> {
    await this.writeFiles([{ path, content: undefined }]);
  }

  /**
   * Stages files in one round trip (backed up, written beside their places, nothing renamed);
   * `commit` renames them into place and removes the files to remove in a second one.
   */
  async stageFiles(files: readonly FileWrite[]): Promise<StagedFiles> {
    this.#forget();
    const { script, stdin } = stageScript(files, this.#options.backupDir);
    this.#checkWrite(await this.#shell(script, stdin), files, "is unchanged");
    return {
      commit: async () => {
        this.#forget();
        this.#checkWrite(await this.#shell(commitScript(files)), files, "left as it was");
      },
      discard: async () => {
        this.#check(await this.#shell(discardScript(files)), "remove the staged files");
      },
    };
  }

  /** Throws, naming the file a write script failed on, unless it succeeded. */
  #checkWrite(result: CommandResult, files: readonly FileWrite[], unchanged: string): void {
    if (result.code === 0) return;
    const failure = writeFailure(result.stderr);
    const file = files.find((each) => each.path === failure.path) ?? files[0];
    this.#check(
      { ...result, stderr: failure.stderr },
      `${file.content === undefined ? "remove" : "write"} ${file.path}`,
      `${file.path} ${unchanged}`,
    );
  }

  /**
   * Runs a command on the node. Its own exit code is returned; a failure to reach the host or
   * sudo asking for a password throws.
   */
  async run(command: readonly string[]): Promise<CommandResult> {
    this.#forget();
    const result = await this.#shell(commandLine(command));
    if (result.code !== 0) {
      const { kind, reason } = classifyFailure(result, this.#target());
      if (kind !== "command" && kind !== "missing-file" && kind !== "disk-full") {
        throw new SshError(
          this.name,
          kind,
          `${describeTarget(this.#target())}: cannot run ${command.join(" ")} over ssh: ${reason}`,
        );
      }
    }
    return result;
  }

  #forget(): void {
    this.#listings.clear();
  }

  #target() {
    const o = this.#options;
    return {
      name: o.name,
      address: o.address,
      port: o.port,
      user: o.user,
      identityFile: o.identityFile,
      knownHostsFile: o.knownHostsFile,
    };
  }

  /** What each file written between `since` and `until` held at `since` (see backup_journal.ts). */
  filesAsOf(since: Date, until: Date): Promise<PriorFile[]> {
    return filesAsOf((path) => this.readFile(path), this.#options.backupDir, since, until);
  }

  #check(result: CommandResult, what: string, unchanged?: string): void {
    if (result.code === 0) return;
    const { kind, reason } = classifyFailure(result, this.#target());
    const tail = unchanged && kind !== "command" ? `; ${unchanged}` : "";
    throw new SshError(
      this.name,
      kind,
      `${describeTarget(this.#target())}: cannot ${what} over ssh: ${reason}${tail}`,
    );
  }

  /** The destination arguments: port, identity, user@address. */
  #destination(): string[] {
    const options = this.#options;
    const args: string[] = [];
    if (options.port) args.push("-p", String(options.port));
    if (options.identityFile) args.push("-i", options.identityFile, "-o", "IdentitiesOnly=yes");
    if (options.knownHostsFile) {
      args.push(
        "-o",
        `UserKnownHostsFile=${options.knownHostsFile}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
      );
    }
    args.push(options.user ? `${options.user}@${options.address}` : options.address);
    return args;
  }

  async #shell(script: string, stdin?: string | Uint8Array): Promise<CommandResult> {
    const options = this.#options;
    const missing = await this.#missingLocalFile();
    if (missing) {
      throw new SshError(
        this.name,
        "missing-file",
        `${describeTarget(this.#target())}: cannot connect over ssh: ${missing}`,
      );
    }
    const args = [
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "LogLevel=ERROR",
    ];
    if (options.connections) {
      for (const option of await options.connections.options()) args.push("-o", option);
    }
    for (const option of options.sshOptions ?? []) args.push("-o", option);
    const destination = this.#destination();
    options.connections?.remember(this.name, destination);
    args.push(...destination);
    args.push("--", remoteScript(script, options.sudo));
    this.#roundTrips++;
    const child = new Deno.Command("ssh", {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
      await writer.write(bytes).catch(() => {});
      await writer.close().catch(() => {});
    }
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /** The identity or known_hosts file named in the plan when it does not exist here. */
  async #missingLocalFile(): Promise<string | undefined> {
    const files = [
      ["identity file", this.#options.identityFile],
      ["known_hosts file", this.#options.knownHostsFile],
    ] as const;
    for (const [what, path] of files) {
      if (!path) continue;
      try {
        await Deno.stat(path.replace(/^~(?=\/)/, Deno.env.get("HOME") ?? "~"));
      } catch {
        return `the ${what} ${path} does not exist on this machine`;
      }
    }
    return undefined;
  }
}
