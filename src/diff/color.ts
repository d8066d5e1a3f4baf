/**
 * Terminal colour: when to use it, and the few ANSI styles the diff renderer needs.
 * @module
 */

/** A stream that can tell whether it is a terminal, like `Deno.stdout`. */
export interface TerminalLike {
  isTerminal(): boolean;
}

/**
 * Says whether output to `stream` should be coloured: only on a terminal, and never when
 * `NO_COLOR` is set to a non-empty value (https://no-color.org).
 */
export function shouldUseColor(
  stream: TerminalLike,
  env: Record<string, string | undefined>,
): boolean {
  if ((env.NO_COLOR ?? "") !== "") return false;
  return stream.isTerminal();
}

/** The styles used by the renderer. */
export type Style = "bold" | "red" | "green" | "cyan";

const CODES: Record<Style, string> = {
  bold: "\x1b[1m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  cyan: "\x1b[36m",
};
const RESET = "\x1b[0m";

/** Wraps `text` in the ANSI codes of `style` when `enabled`; returns it unchanged otherwise. */
export function paint(text: string, style: Style, enabled: boolean): string {
  return enabled && text !== "" ? `${CODES[style]}${text}${RESET}` : text;
}

/**
 * Makes control characters in untrusted text visible (`\x1b` → `\x1b` as four characters), so
 * file content cannot move the cursor or change colours on the operator's terminal.
 */
export function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f\x9b]/g, (c) => {
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
