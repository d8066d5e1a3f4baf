/**
 * The `local` node driver: a node whose filesystem is a root directory on this machine (running
 * on the node itself with root "/", or a test node root). A path `/etc/kubernetes/pki/ca.crt`
 * on the node is `<root>/etc/kubernetes/pki/ca.crt` here.
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { CommandResult, FileWrite, PriorFile, StagedFiles, WriteOptions } from "./node_io.ts";
import { backupPath, filesAsOf, journalLine, journalPath } from "./backup_journal.ts";
import { ownNodeFiles } from "../plan/node_paths.ts";

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
    await this.#backup(path);
    await writeWhole(this.hostPath(path), content, options.mode ?? 0o644);
  }

  async removeFile(path: string): Promise<void> {
    await this.#backup(path);
    try {
      await Deno.remove(this.hostPath(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /**
   * Stages files: each backed up, each write put whole and flushed beside its place (a dot file);
   * nothing renamed or removed. A failure removes what was staged. `commit` renames them into
   * place and removes the files to remove.
   */
  async stageFiles(files: readonly FileWrite[]): Promise<StagedFiles> {
    const staged: string[] = [];
    const discard = async () => {
      for (const path of staged) await Deno.remove(path).catch(() => {});
    };
    try {
      for (const file of files) {
        await this.#backup(file.path);
        if (file.content === undefined) continue;
        const target = this.hostPath(file.path);
        await Deno.mkdir(dirname(target), { recursive: true });
        const path = stagedBeside(target);
        staged.push(path);
        const mode = file.mode ?? 0o644;
        await Deno.writeTextFile(path, file.content, { mode });
        await Deno.chmod(path, mode);
        await syncPath(path);
      }
    } catch (error) {
      await discard();
      throw error;
    }
    return {
      commit: async () => {
        for (const file of files) {
          const target = this.hostPath(file.path);
          if (file.content === undefined) {
            await Deno.remove(target).catch((error) => {
              if (!(error instanceof Deno.errors.NotFound)) throw error;
            });
          } else await Deno.rename(stagedBeside(target), target);
          await syncPath(dirname(target));
        }
      },
      discard,
    };
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
    if (ownNodeFiles({ backupDir: this.#backupDir }).includes(path)) return;
    const at = new Date();
    const current = await this.readFile(path);
    let backup: string | undefined;
    if (current !== undefined) {
      backup = backupPath(this.#backupDir, path, at);
      const mode = (await Deno.stat(this.hostPath(path))).mode ?? 0o600;
      await writeWhole(this.hostPath(backup), current, mode & 0o777);
    }
    // A line cut short by a kill is skipped when the journal is read (parseJournal).
    const journal = this.hostPath(journalPath(this.#backupDir));
    await Deno.mkdir(dirname(journal), { recursive: true });
    await Deno.writeTextFile(journal, journalLine({ at: at.toISOString(), path, backup }), {
      append: true,
      mode: 0o600,
    });
    await syncPath(journal);
  }
}

/**
 * Writes `content` to `target` whole or not at all, as a run killed at any moment must leave it:
 * into a temporary dot file beside it (a kubelet's manifest directory ignores dot files), flushed
 * to disk, then renamed over it, and the directory flushed. A failed write removes the temporary
 * file and leaves `target` as it was.
 */
async function writeWhole(target: string, content: string, mode: number): Promise<void> {
  const dir = dirname(target);
  await Deno.mkdir(dir, { recursive: true });
  const temporary = join(dir, `.${basename(target)}.ca-rotator.tmp`);
  try {
    await Deno.writeTextFile(temporary, content, { mode });
    await Deno.chmod(temporary, mode);
    await syncPath(temporary);
    await Deno.rename(temporary, target);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  await syncPath(dir);
}

/** Where a staged write of `target` waits for its commit: a dot file beside it. */
function stagedBeside(target: string): string {
  return join(dirname(target), `.${basename(target)}.ca-rotator.staged`);
}

/** fsync of a file or directory. */
async function syncPath(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}
