import assert from "node:assert/strict";
import { rollingWindow } from "./_rolling_window.ts";

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
  });
  assert.throws(() => rollingWindow([1], 0, () => Promise.resolve()), /positive whole number/);
});
