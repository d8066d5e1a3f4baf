import assert from "node:assert/strict";
import { rollingWindow, type TaskEnd } from "./_rolling_window.ts";
import { AdaptiveWindow } from "./_adaptive_window.ts";

/** Tasks the test finishes by hand, recording when each starts. */
function controlledTasks() {
  const started: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const task = (item: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(item);
      pending.set(item, { resolve, reject });
    });
  const settle = async (item: string, error?: Error) => {
    const handle = pending.get(item);
    if (!handle) throw new Error(`${item} is not in flight`);
    pending.delete(item);
    if (error) handle.reject(error);
    else handle.resolve();
    for (let tick = 0; tick < 5; tick++) await Promise.resolve(); // let the window refill
  };
  return { started, pending, task, settle };
}

const tick = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

Deno.test("rollingWindow: at most size in flight, the next starting as soon as one finishes", async () => {
  const { started, pending, task, settle } = controlledTasks();
  const run = rollingWindow(["a", "b", "c", "d", "e"], 2, task);
  await tick();
  assert.deepEqual(started, ["a", "b"]);
  await settle("b"); // b finishes first: c starts without waiting for a
  assert.deepEqual(started, ["a", "b", "c"]);
  assert.equal(pending.size, 2);
  await settle("a");
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  await settle("c");
  await settle("d");
  await settle("e");
  const outcome = await run;
  assert.deepEqual(outcome.done, ["b", "a", "c", "d", "e"]);
  assert.deepEqual(outcome.failed, []);
  assert.deepEqual(outcome.notStarted, []);
});

Deno.test("rollingWindow: a failure stops new starts; in-flight tasks finish and are reported", async () => {
  const { started, task, settle } = controlledTasks();
  const run = rollingWindow(["a", "b", "c", "d", "e"], 3, task);
  await tick();
  assert.deepEqual(started, ["a", "b", "c"]);
  await settle("b", new Error("stuck"));
  assert.deepEqual(started, ["a", "b", "c"], "nothing new starts after a failure");
  await settle("a");
  await settle("c", new Error("also stuck"));
  const outcome = await run;
  assert.deepEqual(outcome.done, ["a"]);
  assert.deepEqual(outcome.failed.map((failure) => failure.item), ["b", "c"]);
  assert.equal((outcome.failed[0].error as Error).message, "stuck");
  assert.deepEqual(outcome.notStarted, ["d", "e"]);
});

Deno.test("rollingWindow: a task that throws synchronously counts as failed", async () => {
  const outcome = await rollingWindow([1, 2, 3], 1, (item) => {
    if (item === 2) throw new Error("bad");
    return Promise.resolve();
  });
  assert.deepEqual(outcome.done, [1]);
  assert.deepEqual(outcome.failed.map((failure) => failure.item), [2]);
  assert.deepEqual(outcome.notStarted, [3]);
});

Deno.test("rollingWindow: a new group starts only after every task of the group before it", async () => {
  const { started, task, settle } = controlledTasks();
  const group = (item: string) => item.split("/")[0];
  const run = rollingWindow(["sys/a", "sys/b", "app/c", "app/d", "app/e"], 4, task, { group });
  await tick();
  assert.deepEqual(started, ["sys/a", "sys/b"], "app waits for the sys group");
  await settle("sys/a");
  assert.deepEqual(started, ["sys/a", "sys/b"]);
  await settle("sys/b");
  assert.deepEqual(started, ["sys/a", "sys/b", "app/c", "app/d", "app/e"]);
  await settle("app/c");
  await settle("app/d");
  await settle("app/e");
  assert.equal((await run).done.length, 5);
});

Deno.test("rollingWindow: nothing to do, and a bad size", async () => {
  assert.deepEqual(await rollingWindow([], 3, () => Promise.resolve()), {
    done: [],
    failed: [],
    notStarted: [],
    peakInFlight: 0,
  });
  assert.throws(() => rollingWindow([1], 0, () => Promise.resolve()), /positive whole number/);
});

Deno.test("rollingWindow: a size read before each start (an adaptive window) grows and shrinks the window", async () => {
  const { started, pending, task, settle } = controlledTasks();
  let size = 1;
  const ends: [string, TaskEnd][] = [];
  let clock = 0;
  const run = rollingWindow(["a", "b", "c", "d", "e", "f"], () => size, task, {
    onSettled: (item, end) => {
      ends.push([item, end]);
      size = item === "a" ? 3 : item === "b" ? 1 : size;
    },
    now: () => clock,
  });
  await tick();
  assert.deepEqual(started, ["a"]);
  clock = 7;
  await settle("a"); // grown to 3: three start
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  assert.deepEqual(ends[0], ["a", { ok: true, ms: 7, inFlight: 1 }]);
  await settle("b"); // shrunk to 1: c and d still in flight, nothing new
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  assert.equal(pending.size, 2);
  await settle("c");
  assert.deepEqual(started, ["a", "b", "c", "d"], "one left in flight is the whole window of 1");
  await settle("d");
  assert.deepEqual(started, ["a", "b", "c", "d", "e"]);
  await settle("e");
  await settle("f");
  const outcome = await run;
  assert.equal(outcome.done.length, 6);
  assert.equal(outcome.peakInFlight, 3);
  assert.equal(outcome.stoppedWith, undefined);
});

Deno.test("rollingWindow: a failure is reported with the tasks in flight and the window's size then", async () => {
  const { started, task, settle } = controlledTasks();
  const run = rollingWindow(["a", "b", "c", "d", "e"], 3, task);
  await tick();
  await settle("a");
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  await settle("c", new Error("stuck"));
  await settle("b");
  await settle("d");
  const outcome = await run;
  assert.deepEqual(outcome.stoppedWith, { inFlight: 3, size: 3 });
  assert.deepEqual(outcome.notStarted, ["e"]);
});

/**
 * Tasks of simulated duration: each takes `durations[item]` ms of a virtual clock, resolved in
 * the order they would end; returns what a run would have in flight at each start.
 */
async function simulate(
  durations: Record<string, number | "fails">,
  window: AdaptiveWindow,
  failAfter = 30,
  options: { watch?: boolean } = {},
) {
  let clock = 0;
  const timers: { at: number; done: () => void }[] = [];
  const sizes: number[] = [];
  let beat: (() => void) | undefined;

  const outcome = rollingWindow(
    Object.keys(durations),
    () => window.size,
    (item) =>
      new Promise<void>((resolve, reject) => {
        const duration = durations[item];
        const at = clock + (duration === "fails" ? failAfter : duration);
        timers.push({
          at,
          done: duration === "fails" ? () => reject(new Error(`${item} never available`)) : resolve,
        });
      }),
    {
      now: () => clock,
      onSettled: (item, end) => {
        if (end.ok) window.completed(item, "Deployment", end.ms, end.inFlight);
        else window.failed(item);
        sizes.push(window.size);
      },
      ...(options.watch
        ? {
          onRunning: (item: string, ms: number) => {
            if (window.running(item, "Deployment", ms)) sizes.push(window.size);
          },
          every: (watch: () => void) => {
            beat = watch;
            return () => beat = undefined;
          },
        }
        : {}),
    },
  );
  let finished = false;
  outcome.then(() => finished = true);
  while (!finished) {
    await tick();
    timers.sort((a, b) => a.at - b.at);
    const first = timers.shift();
    if (!first) continue;
    // The watch beats once a (virtual) second up to the next end.
    for (let second = Math.floor(clock / 1000) + 1; second * 1000 < first.at; second++) {
      clock = second * 1000;
      beat?.();
    }
    clock = first.at;
    first.done();
  }
  return { outcome: await outcome, sizes };
}

Deno.test("an adaptive rolling window: grows on healthy rollouts, stops at a failure with at most its size in flight", async () => {
  const healthy = Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`w${String(i).padStart(2, "0")}`, 2_000]),
  );
  const grows = await simulate(
    { ...healthy },
    new AdaptiveWindow({ start: 1, max: 4, timeoutMs: 600_000 }),
  );
  assert.equal(grows.outcome.done.length, 12, "every rollout completes");
  assert.equal(grows.outcome.peakInFlight, 4, "grew to its maximum");
  assert.equal(grows.sizes.at(-1), 4);

  const stuck = await simulate(
    { ...healthy, w08: "fails" },
    new AdaptiveWindow({ start: 1, max: 4, timeoutMs: 600_000 }),
  );
  const stop = stuck.outcome.stoppedWith!;
  assert.ok(stop.size > 1, "the window had grown before the failure");
  assert.ok(stop.inFlight <= stop.size, `${stop.inFlight} in flight, window ${stop.size}`);
  assert.deepEqual(stuck.outcome.failed.map((failure) => failure.item), ["w08"]);
  assert.ok(stuck.outcome.notStarted.length > 0, "nothing started after the failure");
  assert.equal(stuck.sizes.at(-1)! < stop.size, true, "the failure shrank the window");
});

Deno.test("an adaptive rolling window: rollouts that never become available shrink it while in flight, before their deadline", async () => {
  // 200 rollouts of 20 s, as the bench rolls; three at 100–102 never become available (they
  // fail at their 120 s deadline). The window may grow to 20.
  const durations: Record<string, number | "fails"> = Object.fromEntries(
    Array.from({ length: 200 }, (_, i) => [`w${String(i).padStart(3, "0")}`, 20_000]),
  );
  for (const stuck of ["w100", "w101", "w102"]) durations[stuck] = "fails";
  const timeoutMs = 120_000;
  const watched = await simulate(
    durations,
    new AdaptiveWindow({ start: 1, max: 20, timeoutMs }),
    timeoutMs,
    { watch: true },
  );
  const stop = watched.outcome.stoppedWith!;
  assert.deepEqual(watched.outcome.failed.map((failure) => failure.item).sort(), [
    "w100",
    "w101",
    "w102",
  ]);
  assert.ok(
    stop.inFlight <= 4,
    `the overdue rollouts shrank the window: ${stop.inFlight} in flight at the failure (window ${stop.size})`,
  );

  // The negative control: the same roll without the in-flight watch keeps starting rollouts
  // until the first deadline: the whole window is in flight when the failure stops it.
  const unwatched = await simulate(
    durations,
    new AdaptiveWindow({ start: 1, max: 20, timeoutMs }),
    timeoutMs,
  );
  assert.deepEqual(unwatched.outcome.stoppedWith, { inFlight: 20, size: 20 });
  assert.ok(
    unwatched.outcome.notStarted.length < watched.outcome.notStarted.length,
    `unwatched left ${unwatched.outcome.notStarted.length} unstarted, watched ${watched.outcome.notStarted.length}`,
  );
});
