import assert from "node:assert/strict";
import { INTERRUPT_EXIT_CODES, listenForInterrupts, SignalInterrupt } from "./interrupt.ts";

Deno.test("the first SIGTERM aborts the signal with its exit code; a second one aborts at once", async () => {
  const warnings: string[] = [];
  const second: string[] = [];
  const listener = listenForInterrupts((message) => warnings.push(message), (name) => {
    second.push(name);
  });
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(listener.signal.aborted);
    assert.ok(listener.signal.reason instanceof SignalInterrupt);
    assert.equal(listener.signal.reason.exitCode, INTERRUPT_EXIT_CODES.SIGTERM);
    assert.equal(listener.received, "SIGTERM");
    // (SIGINT is the test runner's own: it stops the tests. SIGTERM twice shows the same path.)
    Deno.kill(Deno.pid, "SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(second, ["SIGTERM"]);
    assert.match(warnings[0], /SIGTERM: stopping at the next safe point/);
    assert.match(warnings[1], /SIGTERM again: aborting at once/);
  } finally {
    listener.dispose();
  }
});
