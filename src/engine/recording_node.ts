/**
 * A node that notes every path read through it: laid under a dry run's overlay, it tells which
 * files of the node the remaining plan reads (what the node inventory records).
 * @module
 */
import type {
  CommandResult,
  FileWrite,
  NodeAccess,
  PriorFile,
  WriteOptions,
} from "./node_access.ts";

/** Delegates everything to `base` and records the path of each `readFile`. */
export class RecordingNode implements NodeAccess {
  readonly #base: NodeAccess;
  /** The paths read, in the order first read. */
  readonly reads = new Set<string>();

  constructor(base: NodeAccess) {
    this.#base = base;
  }

  get name(): string {
    return this.#base.name;
  }

  readFile(path: string): Promise<string | undefined> {
    this.reads.add(path);
    return this.#base.readFile(path);
  }

  writeFile(path: string, content: string, options?: WriteOptions): Promise<void> {
    return this.#base.writeFile(path, content, options);
  }

  removeFile(path: string): Promise<void> {
    return this.#base.removeFile(path);
  }

  writeFiles(files: readonly FileWrite[]): Promise<void> {
    if (this.#base.writeFiles) return this.#base.writeFiles(files);
    return Promise.reject(new Error(`${this.name}: its node driver writes files one by one`));
  }

  filesAsOf(since: Date, until: Date): Promise<PriorFile[]> {
    if (!this.#base.filesAsOf) {
      return Promise.reject(new Error(`${this.name}: its node driver keeps no journal of writes`));
    }
    return this.#base.filesAsOf(since, until);
  }

  run(command: readonly string[]): Promise<CommandResult> {
    return this.#base.run(command);
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
}
