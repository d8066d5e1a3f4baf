/**
 * The `local` node driver: a node whose filesystem is a root directory on this machine (running
 * on the node itself with root "/", or a test node root). A path `/etc/kubernetes/pki/ca.crt`
 * on the node is `<root>/etc/kubernetes/pki/ca.crt` here.
 * @module
 */
import { dirname, join } from "node:path";
import type { CommandResult, PriorFile, WriteOptions } from "./node_io.ts";
import { backupPath, filesAsOf, journalLine, journalPath } from "./backup_journal.ts";

/** Options of a local node. */
export interface LocalNodeOptions {
  readonly name: string;
  readonly root: string;
  /** Where backups go, as a path on the node. */
  readonly backupDir: string;
  /** The address the node's processes see as 127.0.0.1 (test nodes sharing this machine). */
  readonly address?: string;
}

/** A node whose files live under a root directory. Commands run with `NODE_ROOT` set. */
export class LocalNode {
  readonly name: string;
  readonly root: string;
  readonly #backupDir: string;
  readonly #address: string | undefined;

  constructor(options: LocalNodeOptions) {
    this.name = options.name;
    this.root = options.root;
    this.#backupDir = options.backupDir;
    this.#address = options.address;
  }

  reachableUrl(url: string): string {
    if (!this.#address) return url;
    return url.replace(/^(\w+:\/\/)(127\.0\.0\.1|localhost)(?=[:/]|$)/, `$1${this.#address}`);
  }

  /** The path on this machine of a path on the node. */
  hostPath(path: string): string {
    if (!path.startsWith("/")) {
      throw new Error(`Cannot use node path "${path}": it is not absolute`);
    }
    return join(this.root, path);
  }

  async readFile(path: string): Promise<string | undefined> {
    try {
      return await Deno.readTextFile(this.hostPath(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async writeFile(path: string, content: string, options: WriteOptions = {}): Promise<void> {
    const target = this.hostPath(path);
    await this.#backup(path);
    await Deno.mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.ca-rotator.tmp`;
    await Deno.writeTextFile(temporary, content, { mode: options.mode ?? 0o644 });
    if (options.mode !== undefined) await Deno.chmod(temporary, options.mode);
    await Deno.rename(temporary, target);
  }

  async removeFile(path: string): Promise<void> {
    await this.#backup(path);
    try {
      await Deno.remove(this.hostPath(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  async run(command: readonly string[]): Promise<CommandResult> {
    const [program, ...args] = command;
    const output = await new Deno.Command(program, {
      args,
      env: { NODE_ROOT: this.root, NODE_NAME: this.name },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /** What each file written between `since` and `until` held at `since` (see backup_journal.ts). */
  filesAsOf(since: Date, until: Date): Promise<PriorFile[]> {
    return filesAsOf((path) => this.readFile(path), this.#backupDir, since, until);
  }

  /** Backs the file up (when it exists) and records the write in the journal. */
  async #backup(path: string): Promise<void> {
    const at = new Date();
    const current = await this.readFile(path);
    let backup: string | undefined;
    if (current !== undefined) {
      backup = backupPath(this.#backupDir, path, at);
      const target = this.hostPath(backup);
      await Deno.mkdir(dirname(target), { recursive: true });
      const mode = (await Deno.stat(this.hostPath(path))).mode ?? 0o600;
      await Deno.writeTextFile(target, current, { mode: mode & 0o777 });
    }
    const journal = this.hostPath(journalPath(this.#backupDir));
    await Deno.mkdir(dirname(journal), { recursive: true });
    await Deno.writeTextFile(journal, journalLine({ at: at.toISOString(), path, backup }), {
      append: true,
      mode: 0o600,
    });
  }
}
