/**
 * The ssh driver's shell protocol: the POSIX shell scripts it sends a node (list a directory,
 * read a file, link, write and remove files with their backups and journal lines) and how it
 * reads their replies. Transport-free: `ssh.ts` sends the scripts and hands back what came.
 * @module
 */
import { Buffer } from "node:buffer";
import { posix } from "node:path";
import type { FileWrite } from "./node_io.ts";
import { backupPath, journalLine, journalPath } from "./backup_journal.ts";
import { ownNodeFiles } from "../plan/node_paths.ts";

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command as one shell line, each word quoted. */
export function commandLine(command: readonly string[]): string {
  return command.map(shellQuote).join(" ");
}

/** What the node runs for `script`: the script itself, or through `sudo -n` (never a prompt). */
export function remoteScript(script: string, sudo: boolean | undefined): string {
  return sudo ? `sudo -n sh -c ${shellQuote(script)}` : script;
}

/** Files larger than this are read on their own. */
const LARGEST_BATCHED = 1 << 20;

/** A directory as one round trip listed it. */
export interface DirectoryListing {
  /** When it was listed (epoch ms). */
  readonly at: number;
  readonly exists: boolean;
  /** Readable regular files (symbolic links followed) by name, with their text. */
  readonly files: ReadonlyMap<string, string>;
  /** Regular files not in `files` (too large or unreadable): read on their own. */
  readonly others: ReadonlySet<string>;
}

/**
 * One round trip that prints every regular file of a directory: `D` when it exists, then
 * `F <name> <content>` (both base64) per file, `O <name>` for one to read on its own.
 */
export function listingScript(dir: string): string {
  const q = shellQuote(dir);
  return [
    `d=${q}`,
    `[ -d "$d" ] || exit 0`,
    "echo D",
    'for f in "$d"/* "$d"/.[!.]*; do',
    '  [ -f "$f" ] || continue',
    '  n=$(printf %s "${f##*/}" | base64 -w0)',
    `  if [ -r "$f" ] && [ "$(stat -L -c %s -- "$f")" -le ${LARGEST_BATCHED} ]; then`,
    '    printf "F %s " "$n"; base64 -w0 < "$f" || exit 1; echo',
    '  else printf "O %s\\n" "$n"; fi',
    "done",
  ].join("\n");
}

/** Reads what {@linkcode listingScript} printed. */
export function parseListing(stdout: string): DirectoryListing {
  const files = new Map<string, string>();
  const others = new Set<string>();
  let exists = false;
  const text = (base64: string) => Buffer.from(base64, "base64").toString("utf8");
  for (const line of stdout.split("\n")) {
    if (line === "D") exists = true;
    else if (line.startsWith("F ")) {
      const [, name, content = ""] = line.split(" ");
      files.set(text(name), text(content));
    } else if (line.startsWith("O ")) others.add(text(line.slice(2)));
  }
  return { at: Date.now(), exists, files, others };
}

/** The exit code of {@linkcode readScript} when the file does not exist. */
export const READ_MISSING = 44;

/** Prints one file, or exits with {@linkcode READ_MISSING} when there is none. */
export function readScript(path: string): string {
  const q = shellQuote(path);
  return `if [ -e ${q} ]; then cat -- ${q}; else exit ${READ_MISSING}; fi`;
}

/** Points `path` at `target`, relatively when the target is in the same directory tree. */
export function linkScript(target: string, path: string): string {
  const relative = posix.relative(posix.dirname(path), target);
  const linked = relative.startsWith("../") ? target : relative;
  return `ln -sfn -- ${shellQuote(linked)} ${shellQuote(path)}`;
}

/** How a write script names the file it failed on (stderr). */
const FAILED_MARK = "ca-rotator-failed:";

/** A write script and what it reads from stdin. */
export interface WriteScript {
  readonly script: string;
  /** Every written file's content, in order. */
  readonly stdin: Uint8Array;
}

/**
 * One round trip that writes and removes files in order, each backed up first into `backupDir`
 * and journaled; a write goes to a temporary file renamed over the file only
 * when written whole (a failed one is removed, the file left as it was), and the first failure
 * stops the script, naming its file ({@linkcode writeFailure}).
 */
export function writeScript(files: readonly FileWrite[], backupDir: string): WriteScript {
  const encoder = new TextEncoder();
  const contents: Uint8Array[] = [];
  const lines = [
    `failed() { printf '${FAILED_MARK}%s\\n' "$1" >&2; exit "$2"; }`,
  ];
  for (const file of files) {
    const q = shellQuote(file.path);
    if (file.content === undefined) {
      lines.push(
        `{ ${backupScript(file.path, backupDir)} && rm -f -- ${q}; } || failed ${q} $?`,
      );
      continue;
    }
    const bytes = encoder.encode(file.content);
    contents.push(bytes);
    // A dot file beside it: a kubelet's manifest directory ignores dot files.
    const temporary = shellQuote(
      `${posix.dirname(file.path)}/.${posix.basename(file.path)}.ca-rotator.tmp`,
    );
    const mode = (file.mode ?? 0o644).toString(8);
    // The content comes from stdin, exactly its length; the rename happens only when all of it
    // was written.
    lines.push(
      `{ ${backupScript(file.path, backupDir)} && mkdir -p -- "$(dirname -- ${q})" && ` +
        `(umask 077 && head -c ${bytes.length} > ${temporary}) && ` +
        `[ "$(stat -c %s -- ${temporary})" = ${bytes.length} ] && ` +
        `chmod ${mode} ${temporary} && sync -- ${temporary} && mv -f -- ${temporary} ${q}; } ` +
        `|| { rc=$?; rm -f -- ${temporary}; failed ${q} $rc; }`,
    );
  }
  return { script: lines.join("\n"), stdin: concatenated(contents) };
}

/** What a failed {@linkcode writeScript} said: the file it failed on, and the rest of stderr. */
export function writeFailure(stderr: string): { path?: string; stderr: string } {
  const lines = stderr.split("\n");
  const path = lines.find((line) => line.startsWith(FAILED_MARK))?.slice(FAILED_MARK.length);
  return { path, stderr: lines.filter((line) => !line.startsWith(FAILED_MARK)).join("\n") };
}

/**
 * Backs `path` up when it exists, then records the write in the journal (see
 * backup_journal.ts); nothing for ca-rotator's own files.
 */
function backupScript(path: string, backupDir: string): string {
  if (ownNodeFiles({ backupDir }).includes(path)) return ":";
  const q = shellQuote(path);
  const at = new Date();
  const file = backupPath(backupDir, path, at);
  const backup = shellQuote(file);
  // Copied beside the backup and renamed: a backup is whole or absent.
  const partial = shellQuote(`${file}.ca-rotator.tmp`);
  const journal = shellQuote(journalPath(backupDir));
  const record = (entry: string) =>
    `mkdir -p -- ${shellQuote(backupDir)} && printf '%s' ${shellQuote(entry)} >> ${journal}`;
  const created = journalLine({ at: at.toISOString(), path });
  const backedUp = journalLine({ at: at.toISOString(), path, backup: file });
  return `{ if [ -e ${q} ]; then mkdir -p -- "$(dirname -- ${backup})" && ` +
    `cp -p -- ${q} ${partial} && mv -f -- ${partial} ${backup} && ` +
    `${record(backedUp)}; else ${record(created)}; fi; }`;
}

/** Where the first stage of a write across nodes puts a file: a dot file beside it. */
export function stagedPath(path: string): string {
  return `${posix.dirname(path)}/.${posix.basename(path)}.ca-rotator.staged`;
}

/**
 * One round trip that stages files: each backed up and journaled, each write put whole and
 * flushed at its {@linkcode stagedPath}; nothing is renamed or removed. The first failure
 * removes every staged file of the batch and names its file ({@linkcode writeFailure}).
 */
export function stageScript(files: readonly FileWrite[], backupDir: string): WriteScript {
  const encoder = new TextEncoder();
  const contents: Uint8Array[] = [];
  const staged = quotedStagedPaths(files);
  const lines = [
    `failed() { rm -f -- ${staged.join(" ")}; printf '${FAILED_MARK}%s\\n' "$1" >&2; exit "$2"; }`,
  ];
  for (const file of files) {
    const q = shellQuote(file.path);
    if (file.content === undefined) {
      lines.push(`${backupScript(file.path, backupDir)} || failed ${q} $?`);
      continue;
    }
    const bytes = encoder.encode(file.content);
    contents.push(bytes);
    const target = shellQuote(stagedPath(file.path));
    const mode = (file.mode ?? 0o644).toString(8);
    lines.push(
      `{ ${backupScript(file.path, backupDir)} && mkdir -p -- "$(dirname -- ${q})" && ` +
        `(umask 077 && head -c ${bytes.length} > ${target}) && ` +
        `[ "$(stat -c %s -- ${target})" = ${bytes.length} ] && ` +
        `chmod ${mode} ${target} && sync -- ${target}; } || failed ${q} $?`,
    );
  }
  return { script: lines.join("\n"), stdin: concatenated(contents) };
}

/**
 * One round trip that puts staged files in place (a rename over each file) and removes the files
 * to remove, in order; the first failure stops it, naming its file.
 */
export function commitScript(files: readonly FileWrite[]): string {
  const lines = [`failed() { printf '${FAILED_MARK}%s\\n' "$1" >&2; exit "$2"; }`];
  for (const file of files) {
    const q = shellQuote(file.path);
    lines.push(
      file.content === undefined
        ? `rm -f -- ${q} || failed ${q} $?`
        : `mv -f -- ${shellQuote(stagedPath(file.path))} ${q} || failed ${q} $?`,
    );
  }
  return lines.join("\n");
}

/** One round trip that removes the staged files of a batch. */
export function discardScript(files: readonly FileWrite[]): string {
  const staged = quotedStagedPaths(files);
  return staged.length === 0 ? "true" : `rm -f -- ${staged.join(" ")}`;
}

/** The staged paths of a batch's writes, quoted for the shell. */
function quotedStagedPaths(files: readonly FileWrite[]): string[] {
  return files.filter((file) => file.content !== undefined)
    .map((file) => shellQuote(stagedPath(file.path)));
}

/** The byte arrays one after another. */
function concatenated(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, bytes) => sum + bytes.length, 0));
  let offset = 0;
  for (const bytes of parts) {
    all.set(bytes, offset);
    offset += bytes.length;
  }
  return all;
}
