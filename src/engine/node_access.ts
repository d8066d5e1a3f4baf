/**
 * Node access: the one interface through which ca-rotator reads and writes files on a node
 * and runs commands there. The drivers of src/nodes/ (`local`, a root directory; `ssh`) satisfy
 * it without importing it; `OverlayNode` (here) lays a dry run over any of them.
 * @module
 */

import type {
  CommandResult,
  FileWrite,
  PriorFile,
  StagedFiles,
  WriteOptions,
} from "../nodes/node_io.ts";

export type {
  CommandResult,
  FileWrite,
  PriorFile,
  StagedFiles,
  WriteOptions,
} from "../nodes/node_io.ts";

/** Access to one node's files and commands. Paths are absolute paths as seen on the node. */
export interface NodeAccess {
  /** The node's name (the Kubernetes node name where it has one). */
  readonly name: string;
  /** Reads a text file; `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes a text file atomically, backing up the previous content first. */
  writeFile(path: string, content: string, options?: WriteOptions): Promise<void>;
  /** Removes a file, backing it up first; no error when it does not exist. */
  removeFile(path: string): Promise<void>;
  /**
   * Writes and removes several files, in order, as `writeFile`/`removeFile` would (a remote
   * driver: in one round trip); stops at the first failure, leaving that file unchanged.
   * Absent: callers write them one by one.
   */
  writeFiles?(files: readonly FileWrite[]): Promise<void>;
  /**
   * The first stage of a write across nodes: backs up and writes every file of `files` beside
   * its place (whole, flushed), changing none of them; all or nothing (a failure removes what it
   * staged and names the file). The handle's `commit` puts them in place with renames only, which
   * need no space; `discard` removes them. Absent: callers write node after node.
   */
  stageFiles?(files: readonly FileWrite[]): Promise<StagedFiles>;
  /**
   * Points `path` at `target` with a symbolic link, as the kubelet's certificate store does.
   * Drivers whose node paths are not real paths where commands run (`local`) leave it out; callers
   * then write a copy.
   */
  link?(target: string, path: string): Promise<void>;
  /**
   * What each file written or removed between `since` and `until` held at `since` (from the
   * driver's backups and its journal of writes): what a rollback restores. Absent: the driver
   * keeps no journal.
   */
  filesAsOf?(since: Date, until: Date): Promise<PriorFile[]>;
  /** Runs a command on the node. */
  run(command: readonly string[]): Promise<CommandResult>;
  /**
   * A URL as the node's own processes mean it, made reachable from where `run` runs (a local
   * test node maps its loopback address to the node's address). Absent: the URL as it is.
   */
  reachableUrl?(url: string): string;
  /**
   * Opens the connection and checks that commands run (a remote driver); a run calls it on every
   * node before it changes anything, so an unreachable node fails the run with nothing changed.
   */
  connect?(): Promise<void>;
  /** Remote round trips made so far (a remote driver), for the run summary. */
  roundTrips?(): number;
}
