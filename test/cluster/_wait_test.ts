import assert from "node:assert/strict";
import { waitFor, waitForNodes } from "./_wait.ts";

Deno.test("waitFor resolves once the check holds and times out naming what it waited for", async () => {
  let calls = 0;
  await waitFor("the third call", () => Promise.resolve(++calls === 3), 5_000);
  assert.equal(calls, 3);
  await assert.rejects(
    waitFor("nothing", () => Promise.resolve(false), 100),
    /^Error: Timed out after 0.1s waiting for nothing$/,
  );
});

Deno.test("waitForNodes names the nodes that are not Ready", async () => {
  const nodes = {
    items: [
      { metadata: { name: "a" }, status: { conditions: [{ type: "Ready", status: "True" }] } },
      { metadata: { name: "b" }, status: { conditions: [{ type: "Ready", status: "False" }] } },
    ],
  };
  const kubectl = () => Promise.resolve(JSON.stringify(nodes));
  await waitForNodes(kubectl, ["a", "b"], false, 1_000);
  await assert.rejects(
    waitForNodes(kubectl, ["a", "b", "c"], true, 100),
    /waiting for nodes Ready: b, c$/,
  );
});
