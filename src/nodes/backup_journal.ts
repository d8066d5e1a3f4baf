/**
 * The node drivers' one home for backups: where a backup of a node file goes, and the journal
 * beside the backups (`<backupDir>/journal.jsonl` on the node) that records every write and
 * removal — the backup taken, or that the file did not exist (the write created it). From the
 * journal and the backups, {@link filesAsOf} says what each file a run touched held at a moment:
 * what a rollback restores.
 * @module
 */
import { posix } from "node:path";
import type { PriorFile } from "./node_io.ts";

/** One journal line: a file about to be written or removed. */
export interface JournalEntry {
  /** When (ISO 8601, the orchestrator's clock). */
  readonly at: string;
  /** The file, as a path on the node. */
  readonly path: string;
  /** Its backup, as a path on the node; absent: the file did not exist. */
  readonly backup?: string;
}

/** The journal's path on the node. */
export function journalPath(backupDir: string): string {
  return posix.join(backupDir, "journal.jsonl");
}

/** The path on the node of a backup of `path` taken at `at`. */
export function backupPath(backupDir: string, path: string, at: Date): string {
  return posix.join(backupDir, `${path}.${at.toISOString().replaceAll(":", "")}`);
}

/** One journal line, newline included. */
export function journalLine(entry: JournalEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/** The entries of a journal; a torn last line (a crash while appending) is left out. */
export function parseJournal(text: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (typeof entry.at === "string" && typeof entry.path === "string") entries.push(entry);
    } catch {
      // a line cut short by a crash
    }
  }
  return entries;
}

/**
 * Pure: for each file written or removed at or after `since` and before `until`, the journal
 * entry of its first such write — the state it had at `since` — in the order first touched.
 */
export function firstWritesBetween(
  entries: readonly JournalEntry[],
  since: Date,
  until: Date,
): JournalEntry[] {
  const first = new Map<string, JournalEntry>();
  for (const entry of entries) {
    const at = Date.parse(entry.at);
    if (Number.isNaN(at) || at < since.getTime() || at >= until.getTime()) continue;
    const earlier = first.get(entry.path);
    if (!earlier || Date.parse(earlier.at) > at) first.set(entry.path, entry);
  }
  return [...first.values()];
}

/**
 * What each file written between `since` and `until` held at `since`, read through `read` (a
 * driver's own reads of node paths): the backup's content, or `undefined` for a file that did
 * not exist then.
 * @throws {Error} when a backup the journal names is missing.
 */
export async function filesAsOf(
  read: (path: string) => Promise<string | undefined>,
  backupDir: string,
  since: Date,
  until: Date,
): Promise<PriorFile[]> {
  const journal = await read(journalPath(backupDir));
  if (journal === undefined) return [];
  const files: PriorFile[] = [];
  for (const entry of firstWritesBetween(parseJournal(journal), since, until)) {
    if (entry.backup === undefined) {
      files.push({ path: entry.path, content: undefined });
      continue;
    }
    const content = await read(entry.backup);
    if (content === undefined) {
      throw new Error(`the backup ${entry.backup} of ${entry.path} is missing`);
    }
    files.push({ path: entry.path, content });
  }
  return files;
}
