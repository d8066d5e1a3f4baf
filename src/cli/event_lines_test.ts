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

Deno.test("a run that fails before it starts still ends its stream with a Summary", async () => {
  const repo = new URL("../../", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${repo}main.ts`,
      "rotate",
      "--plan",
      "src/plan/testdata/unknown_kind.yaml",
      "--output",
      "jsonl",
    ],
    cwd: repo,
    env: { GITHUB_ACTIONS: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  const lines = new TextDecoder().decode(output.stdout).trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.equal(lines.length, 1);
  assert.equal(lines[0].apiVersion, EVENTS_API_VERSION);
  assert.equal(lines[0].type, "Summary");
  assert.equal(lines[0].outcome, "failed");
  assert.equal(lines[0].exitCode, 2);
  assert.match(lines[0].error, /line 23, steps\[1\]\.kind: unknown step kind/);
});
