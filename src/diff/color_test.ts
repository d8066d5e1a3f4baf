import assert from "node:assert/strict";
import { escapeControl, paint, shouldUseColor } from "./color.ts";

const tty = { isTerminal: () => true };
const pipe = { isTerminal: () => false };

Deno.test("shouldUseColor() is true on a terminal without NO_COLOR", () => {
  assert.equal(shouldUseColor(tty, {}), true);
  assert.equal(shouldUseColor(tty, { NO_COLOR: undefined }), true);
});

Deno.test("shouldUseColor() is false when output is not a terminal", () => {
  assert.equal(shouldUseColor(pipe, {}), false);
});

Deno.test("shouldUseColor() is false with NO_COLOR set, even on a terminal", () => {
  assert.equal(shouldUseColor(tty, { NO_COLOR: "1" }), false);
  assert.equal(shouldUseColor(tty, { NO_COLOR: "false" }), false);
});

Deno.test("shouldUseColor() ignores an empty NO_COLOR, as no-color.org says", () => {
  assert.equal(shouldUseColor(tty, { NO_COLOR: "" }), true);
});

Deno.test("paint() adds ANSI codes only when enabled", () => {
  assert.equal(paint("+a", "green", true), "\x1b[32m+a\x1b[0m");
  assert.equal(paint("+a", "green", false), "+a");
});

Deno.test("escapeControl() makes escape sequences in content visible", () => {
  assert.equal(escapeControl("a\x1b[2Jb\tc\r"), "a\\x1b[2Jb\tc\\r");
});
