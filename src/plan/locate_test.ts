import assert from "node:assert/strict";
import { LineCounter, parseDocument } from "yaml";
import { formatPath, locate, pathAtOffset } from "./locate.ts";

Deno.test("formatPath writes paths as a reader does", () => {
  assert.equal(formatPath(["steps", 2, "kind"]), "steps[2].kind");
  assert.equal(
    formatPath(["steps", 3, "flags", "--client-ca-file"]),
    'steps[3].flags["--client-ca-file"]',
  );
  assert.equal(formatPath([]), "");
});

Deno.test("locate finds keys, list items and, for absent fields, their parent", () => {
  const text = "a: 1\nlist:\n  - x: 1\n    y: 2\n  - { x: 3 }\nmap:\n  inner: z\n";
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const line = (path: (string | number)[]) => locate(doc, lineCounter, path).line;
  assert.equal(line(["a"]), 1);
  assert.equal(line(["list", 0, "y"]), 4);
  assert.equal(line(["list", 1, "x"]), 5);
  assert.equal(line(["list", 1, "missing"]), 5);
  assert.equal(line(["map", "inner"]), 7);
  assert.equal(line(["map", "missing"]), 6);
  assert.equal(line(["absent"]), 1);
});

Deno.test("pathAtOffset names the entry under a position", () => {
  const text = "a: 1\nlist:\n  - x: 1\n    y: 2\n";
  const doc = parseDocument(text);
  assert.deepEqual(pathAtOffset(doc, text.indexOf("2")), ["list", 0, "y"]);
  assert.deepEqual(pathAtOffset(doc, 0), ["a"]);
});
