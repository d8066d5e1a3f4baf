/**
 * The dry-run overlay of a node: reads see what earlier steps would have written, writes and
 * commands are recorded and never reach the node.
 * @module
 */
import type { CommandResult, NodeAccess, PriorFile, WriteOptions } from "./node_access.ts";

/** A node whose writes stay in memory. */
export class OverlayNode implements NodeAccess {
  readonly #base: NodeAccess;
  /** Written content by path; `null` marks a removed file. */
  readonly #files = new Map<string, string | null>();
  /** Commands that would have run. */
  readonly commands: string[][] = [];

  constructor(base: NodeAccess) {
    this.#base = base;
  }

  get name(): string {
    return this.#base.name;
  }

  readFile(path: string): Promise<string | undefined> {
    if (this.#files.has(path)) return Promise.resolve(this.#files.get(path) ?? undefined);
    return this.#base.readFile(path);
  }

  writeFile(path: string, content: string, _options?: WriteOptions): Promise<void> {
    this.#files.set(path, content);
    return Promise.resolve();
  }

  removeFile(path: string): Promise<void> {
    this.#files.set(path, null);
    return Promise.resolve();
  }

  filesAsOf(since: Date, until: Date): Promise<PriorFile[]> {
    if (!this.#base.filesAsOf) {
      return Promise.reject(new Error(`${this.name}: its node driver keeps no journal of writes`));
    }
    return this.#base.filesAsOf(since, until);
  }

  reachableUrl(url: string): string {
    return this.#base.reachableUrl?.(url) ?? url;
  }

  connect(): Promise<void> {
    return this.#base.connect?.() ?? Promise.resolve();
  }

  roundTrips(): number {
    return this.#base.roundTrips?.() ?? 0;
  }

  run(command: readonly string[]): Promise<CommandResult> {
    this.commands.push([...command]);
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  }
}
