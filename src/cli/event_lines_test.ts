import assert from "node:assert/strict";
import { EVENTS_API_VERSION, jsonLinesSink } from "./event_lines.ts";

Deno.test("each event is one line with apiVersion, kind and time first", async () => {
  let out = "";
  const sink = jsonLinesSink((text) => out += text, () => new Date("2026-11-27T03:00:00Z"));
  await sink.emit({ type: "StepStarted", step: "a", phase: "trust", stepKind: "k", attempt: 1 });
  sink.summary({ type: "Summary", outcome: "gate", exitCode: 3, dryRun: false, gate: "held" });
  const lines = out.split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "");
  assert.equal(
    lines[0],
    `{"apiVersion":"${EVENTS_API_VERSION}","kind":"RotateEvent","time":"2026-11-27T03:00:00.000Z",` +
      `"type":"StepStarted","step":"a","phase":"trust","stepKind":"k","attempt":1}`,
  );
  assert.deepEqual(JSON.parse(lines[1]).exitCode, 3);
});
