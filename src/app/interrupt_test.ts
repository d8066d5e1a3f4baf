import assert from "node:assert/strict";
import {
  INTERRUPT_EXIT_CODES,
  listenForInterrupts,
  SIGNAL_COPY_WINDOW_MS,
  signalCounter,
  SignalInterrupt,
} from "./interrupt.ts";

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

Deno.test("the first SIGTERM aborts the signal with its exit code; a second one aborts at once", async () => {
  const warnings: string[] = [];
  const second: string[] = [];
  // A clock the test moves: the second SIGTERM comes after the copy window, as a person sends it.
  let clock = 0;
  const listener = listenForInterrupts((message) => warnings.push(message), {
    onSecond: (name) => {
      second.push(name);
    },
    now: () => clock,
  });
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.ok(listener.signal.aborted);
    assert.ok(listener.signal.reason instanceof SignalInterrupt);
    assert.equal(listener.signal.reason.exitCode, INTERRUPT_EXIT_CODES.SIGTERM);
    assert.equal(listener.received, "SIGTERM");
    // (SIGINT is the test runner's own: it stops the tests. SIGTERM twice shows the same path.)
    clock += SIGNAL_COPY_WINDOW_MS;
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(second, ["SIGTERM"]);
    assert.match(warnings[0], /SIGTERM: stopping at the next safe point/);
    assert.match(warnings[1], /SIGTERM again: aborting at once/);
  } finally {
    listener.dispose();
  }
});

Deno.test("copies of one SIGTERM within the window (a process group's signal) are one request", async () => {
  const warnings: string[] = [];
  const second: string[] = [];
  let clock = 0;
  const listener = listenForInterrupts((message) => warnings.push(message), {
    onSecond: (name) => {
      second.push(name);
    },
    now: () => clock,
  });
  try {
    // As `deno task` under a group signal: the group's copy, then the one `deno task` forwards.
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    clock += 5;
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    clock += SIGNAL_COPY_WINDOW_MS - 10;
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.ok(listener.signal.aborted);
    assert.equal(listener.received, "SIGTERM");
    assert.deepEqual(second, [], "no copy aborts at once");
    assert.equal(warnings.length, 3, warnings.join("\n"));
    assert.match(
      warnings[0],
      /SIGTERM: stopping at the next safe point \(send it again, 1 s or more later/,
    );
    assert.match(warnings[1], /SIGTERM again 5 ms after the first: taken as the same request/);
    assert.match(warnings[2], /SIGTERM again 995 ms after the first: taken as the same request/);
    // Past the window from the first: a second request.
    clock += 5;
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(second, ["SIGTERM"]);
  } finally {
    listener.dispose();
  }
});

Deno.test("without a copy window (the old counting), a group's two copies abort at once", async () => {
  // Negative control: what the window prevents, on the same path with the window set to 0.
  const second: string[] = [];
  const listener = listenForInterrupts(() => {}, {
    onSecond: (name) => {
      second.push(name);
    },
    copyWindowMs: 0,
  });
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    Deno.kill(Deno.pid, "SIGTERM");
    await settle();
    assert.deepEqual(second, ["SIGTERM"]);
  } finally {
    listener.dispose();
  }
});

Deno.test("signalCounter: copies of the first signal within the window; anything else is again", () => {
  const count = signalCounter(1000);
  assert.deepEqual(count("SIGTERM", 10_000), { kind: "first" });
  assert.deepEqual(count("SIGTERM", 10_000), { kind: "copy", afterMs: 0 });
  assert.deepEqual(count("SIGTERM", 10_999), { kind: "copy", afterMs: 999 });
  // The window runs from the first signal, not from the last copy.
  assert.deepEqual(count("SIGTERM", 11_000), { kind: "again", first: "SIGTERM" });
  // A different signal is never a copy, however soon.
  const mixed = signalCounter(1000);
  mixed("SIGTERM", 0);
  assert.deepEqual(mixed("SIGINT", 1), { kind: "again", first: "SIGTERM" });
});

Deno.test("signalCounter negative control: two signals further apart than the window abort at once", () => {
  const count = signalCounter(1000);
  count("SIGINT", 0);
  assert.deepEqual(count("SIGINT", 1500), { kind: "again", first: "SIGINT" });
  const none = signalCounter(0);
  none("SIGTERM", 0);
  assert.deepEqual(none("SIGTERM", 0), { kind: "again", first: "SIGTERM" });
  // The default window is the documented 1 s.
  assert.equal(SIGNAL_COPY_WINDOW_MS, 1000);
});
