/**
 * Shell completion (`completion bash|zsh|fish`), by `@bomb.sh/tab` from the command tree:
 * the script it prints asks `ca-rotator complete -- <words>` for the candidates at each TAB,
 * so completion needs `ca-rotator` on PATH (README: install). Loaded only by these commands.
 * The library's own `completion` command offers `powershell`, which ours refuses: its shells are
 * replaced by ours; and since it turns the shell's file completion off, the options that take a
 * file (`--plan`, `--kubeconfig`, …) complete paths themselves.
 * @module
 */
import tab from "@bomb.sh/tab/commander";
import type { Command } from "commander";

/** The shells `completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** The options whose value is a file, and the file names they offer (absent: any). */
const FILE_OPTIONS: Readonly<Record<string, readonly string[] | undefined>> = {
  plan: [".yaml", ".yml"],
  kubeconfig: undefined,
  in: undefined,
  out: undefined,
  summary: [".md"],
  "ca-bundle": [".crt", ".pem"],
};

/** Prints the completion script of `shell` for the program `build()` makes. */
export function printCompletionScript(build: () => unknown, shell: string): void {
  const program = build() as Command;
  tab(program, { completionCommandName: "completion" }).setup(
    program.name(),
    program.name(),
    shell,
  );
}

/** Prints the candidates for the words of a command line being completed. */
export function printCompletions(build: () => unknown, words: string[]): void {
  const root = tab(build() as Command, { completionCommandName: "completion" });
  const shell = root.commands.get("completion")?.arguments.get("shell");
  if (shell) shell.handler = (complete) => SHELLS.forEach((each) => complete(each, ""));
  const partial = (words.at(-1) ?? "").replace(/^--[a-z-]+=/, "");
  for (const command of root.commands.values()) {
    for (const option of command.options.values()) {
      if (option.value in FILE_OPTIONS) {
        option.handler = (complete) =>
          pathCandidates(partial, FILE_OPTIONS[option.value]).forEach((path) => complete(path, ""));
      }
    }
  }
  root.parse(words);
}

/**
 * The directories and the files (with one of `extensions`, when given) in the directory `partial`
 * names, as completions of `partial`; hidden ones only when `partial` asks for them.
 */
export function pathCandidates(partial: string, extensions?: readonly string[]): string[] {
  const slash = partial.lastIndexOf("/");
  const dir = partial.slice(0, slash + 1);
  const base = partial.slice(slash + 1);
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir === "" ? "." : dir)) {
      if (!entry.name.startsWith(base) || (entry.name.startsWith(".") && !base.startsWith("."))) {
        continue;
      }
      const directory = entry.isDirectory ||
        (entry.isSymlink && safeStat(`${dir}${entry.name}`)?.isDirectory === true);
      if (directory) found.push(`${dir}${entry.name}/`);
      else if (!extensions || extensions.some((ext) => entry.name.endsWith(ext))) {
        found.push(`${dir}${entry.name}`);
      }
    }
  } catch {
    return []; // no such directory: nothing to offer
  }
  return found.sort();
}

function safeStat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}
