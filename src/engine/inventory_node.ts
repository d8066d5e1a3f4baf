/**
 * A node known only from the node inventory (src/state/node_inventory.ts): reads are served from
 * what a run with node access recorded; nothing reaches the node. A read-only dry run lays its
 * overlay (overlay_node.ts) over it, so writes and commands never get here; should one, it is
 * refused. `connect` does nothing: there is no connection.
 * @module
 */
import type { CommandResult, NodeAccess } from "./node_access.ts";

/** A node whose files are what the inventory recorded. */
export class InventoryNode implements NodeAccess {
  readonly name: string;
  /** Path → recorded content (secrets replaced by stand-ins), or `null`: it did not exist. */
  readonly #files: ReadonlyMap<string, string | null>;
  /** The error for a path the inventory does not hold. */
  readonly #notRecorded: (node: string, path: string) => Error;

  constructor(
    name: string,
    files: ReadonlyMap<string, string | null>,
    notRecorded: (node: string, path: string) => Error,
  ) {
    this.name = name;
    this.#files = files;
    this.#notRecorded = notRecorded;
  }

  readFile(path: string): Promise<string | undefined> {
    if (!this.#files.has(path)) return Promise.reject(this.#notRecorded(this.name, path));
    return Promise.resolve(this.#files.get(path) ?? undefined);
  }

  writeFile(path: string): Promise<void> {
    return Promise.reject(this.#readOnly(`write ${path}`));
  }

  removeFile(path: string): Promise<void> {
    return Promise.reject(this.#readOnly(`remove ${path}`));
  }

  run(command: readonly string[]): Promise<CommandResult> {
    return Promise.reject(this.#readOnly(`run ${command.join(" ")}`));
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }

  #readOnly(what: string): Error {
    return new Error(
      `${this.name}: cannot ${what}: the node is known only from the node inventory (read-only)`,
    );
  }
}
