/**
 * Shell completion (`completion bash|zsh|fish`), by `@bomb.sh/tab` from the command tree:
 * the script it prints asks `ca-rotator complete -- <words>` for the candidates at each TAB,
 * so completion needs `ca-rotator` on PATH (README: install). Loaded only by these commands.
 * @module
 */
import tab from "@bomb.sh/tab/commander";
import type { Command } from "commander";

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
  tab(build() as Command, { completionCommandName: "completion" }).parse(words);
}
