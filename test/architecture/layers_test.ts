/**
 * The layers of src/ point down (docs/architecture.md): every import of a module under src/ is
 * checked against the folders its folder may use (`MAY_IMPORT`, layers.ts). Tests may import
 * anything.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MAY_IMPORT } from "./layers.ts";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

const isTest = (path: string) => /(_test\.ts|_test_[a-z_]+\.ts|test_helpers\.ts)$/.test(path);

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !isTest(entry.name)) yield path;
  }
}

/** Every import of a module under `src` that its folder may not make, and how many were read. */
async function layerViolations(src: string): Promise<{ violations: string[]; checked: number }> {
  const folderOf = (path: string) => relative(src, path).split("/")[0];
  const violations: string[] = [];
  let checked = 0;
  for await (const file of sources(src)) {
    const from = folderOf(file);
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      violations.push(`${relative(src, file)}: folder "${from}" has no place in the layers`);
      continue;
    }
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      checked++;
      const targetPath = relative(src, resolve(dirname(file), match[1]));
      const target = targetPath.split("/")[0];
      if (target !== from && !allowed.includes(target) && !allowed.includes(targetPath)) {
        violations.push(`${relative(src, file)} imports ${match[1]} (${from} → ${target})`);
      }
    }
  }
  return { violations, checked };
}

Deno.test("imports in src/ only point down the layers", async () => {
  const { violations, checked } = await layerViolations(SRC);
  assert.ok(checked > 100, `only ${checked} imports found: is the scan broken?`);
  assert.deepEqual(violations, []);
});

Deno.test("an import up the layers is caught (negative control)", async () => {
  const src = await Deno.makeTempDir({ prefix: "layers-" });
  try {
    await Deno.mkdir(join(src, "engine"));
    await Deno.mkdir(join(src, "steps"));
    await Deno.writeTextFile(join(src, "steps", "kind.ts"), "export const kind = 1;\n");
    await Deno.writeTextFile(
      join(src, "engine", "runner.ts"),
      'import { kind } from "../steps/kind.ts";\nexport const x = kind;\n',
    );
    const { violations } = await layerViolations(src);
    assert.deepEqual(violations, ["engine/runner.ts imports ../steps/kind.ts (engine → steps)"]);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});
