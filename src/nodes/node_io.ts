/**
 * What a node driver reads and returns besides file text: a command's result and write options.
 * Plain data, shared by the engine's `NodeAccess` contract and the drivers.
 * @module
 */

/** The result of a command run on a node. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for writing a file on a node. */
export interface WriteOptions {
  /** File mode; key files are written 0o600. */
  readonly mode?: number;
}

/** One file of a batch: its new content, or `undefined` to remove it. */
export interface FileWrite {
  readonly path: string;
  readonly content: string | undefined;
  readonly mode?: number;
}

/** What a file held at some earlier moment: its text, or `undefined` when it did not exist. */
export interface PriorFile {
  readonly path: string;
  readonly content: string | undefined;
}

/**
 * Files written beside their places by the first stage of a write across nodes (backed up,
 * whole and flushed), which the second stage puts in place or throws away.
 */
export interface StagedFiles {
  /** Renames each staged file over its place and removes the files to remove, in order. */
  commit(): Promise<void>;
  /** Removes the staged files: the files themselves stay as they were. */
  discard(): Promise<void>;
}
