/**
 * The `ssh` node driver: reaches a node with the system ssh client (keys from the agent or an
 * identity file; no password prompts). Files are read with `cat` and written atomically through
 * a temporary file; every write and removal backs the old file up first.
 * @module
 */
import type { CommandResult, WriteOptions } from "./node_io.ts";

/** How to reach one host. */
export interface SshNodeOptions {
  readonly name: string;
  readonly address: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  /** Run every command through `sudo -n`. */
  readonly sudo?: boolean;
  /** Where backups go, as a path on the node. */
  readonly backupDir: string;
  /** Extra `-o` options (tests pass a known_hosts file). */
  readonly sshOptions?: readonly string[];
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const MISSING = 44;

/** A node reached over ssh. */
export class SshNode {
  readonly name: string;
  readonly #options: SshNodeOptions;

  constructor(options: SshNodeOptions) {
    this.name = options.name;
    this.#options = options;
  }

  async readFile(path: string): Promise<string | undefined> {
    const q = shellQuote(path);
    const result = await this.#shell(`if [ -e ${q} ]; then cat -- ${q}; else exit ${MISSING}; fi`);
    if (result.code === MISSING) return undefined;
    this.#check(result, `read ${path}`);
    return result.stdout;
  }

  async link(target: string, path: string): Promise<void> {
    const script = `ln -sfn -- ${shellQuote(target)} ${shellQuote(path)}`;
    this.#check(await this.#shell(script), `link ${path} to ${target}`);
  }

  async writeFile(path: string, content: string, options: WriteOptions = {}): Promise<void> {
    const q = shellQuote(path);
    const temporary = shellQuote(`${path}.ca-rotator.tmp`);
    const mode = (options.mode ?? 0o644).toString(8);
    const script = [
      this.#backupScript(path),
      `mkdir -p -- "$(dirname -- ${q})"`,
      `(umask 077 && cat > ${temporary})`,
      `chmod ${mode} ${temporary}`,
      `mv -f -- ${temporary} ${q}`,
    ].join(" && ");
    this.#check(await this.#shell(script, content), `write ${path}`);
  }

  async removeFile(path: string): Promise<void> {
    const script = `${this.#backupScript(path)} && rm -f -- ${shellQuote(path)}`;
    this.#check(await this.#shell(script), `remove ${path}`);
  }

  run(command: readonly string[]): Promise<CommandResult> {
    return this.#shell(command.map(shellQuote).join(" "));
  }

  #backupScript(path: string): string {
    const q = shellQuote(path);
    const stamp = new Date().toISOString().replaceAll(":", "");
    const backup = shellQuote(`${this.#options.backupDir}${path}.${stamp}`);
    return `{ [ ! -e ${q} ] || { mkdir -p -- "$(dirname -- ${backup})" && cp -p -- ${q} ${backup}; }; }`;
  }

  #check(result: CommandResult, what: string): void {
    if (result.code !== 0) {
      throw new Error(
        `${this.name}: cannot ${what} over ssh (exit ${result.code}): ${result.stderr.trim()}`,
      );
    }
  }

  async #shell(script: string, stdin?: string): Promise<CommandResult> {
    const options = this.#options;
    const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"];
    for (const option of options.sshOptions ?? []) args.push("-o", option);
    if (options.port) args.push("-p", String(options.port));
    if (options.identityFile) args.push("-i", options.identityFile);
    args.push(options.user ? `${options.user}@${options.address}` : options.address);
    const remote = options.sudo ? `sudo -n sh -c ${shellQuote(script)}` : script;
    args.push("--", remote);
    const child = new Deno.Command("ssh", {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }
}
