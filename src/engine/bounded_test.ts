import assert from "node:assert/strict";
import { mapBounded } from "./bounded.ts";

Deno.test("mapBounded runs at most `limit` calls at once and keeps the order", async () => {
  let running = 0;
  let most = 0;
  const results = await mapBounded([5, 1, 4, 2, 3], 2, async (delay) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, delay * 5));
    running--;
    return delay * 10;
  });
  assert.deepEqual(results, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
});

Deno.test("mapBounded throws the first failure in input order after every call settled", async () => {
  const settled: number[] = [];
  await assert.rejects(
    mapBounded([1, 2, 3], 3, async (n) => {
      await new Promise((resolve) => setTimeout(resolve, (4 - n) * 5));
      settled.push(n);
      if (n > 1) throw new Error(`node ${n}`);
      return n;
    }),
    /node 2/,
  );
  assert.deepEqual(settled.sort(), [1, 2, 3]);
});
