/**
 * docs/architecture.md draws and tabulates the layers that `layers_test.ts` enforces: its table's
 * "may import" column lists, folder by folder, what `MAY_IMPORT` allows, and its diagram draws every
 * folder on a row above all the folders it may import. Both are checked here, each with a negative
 * control on an in-memory edit of the doc.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { folderOfEntry, MAY_IMPORT } from "./layers.ts";

const DOC = fileURLToPath(new URL("../../docs/architecture.md", import.meta.url));

type Layers = Readonly<Record<string, readonly string[]>>;

const TABLE_HEADER = /^\|\s*folder\s*\|.*\|\s*may import\s*\|\s*$/;

/** The rows of the doc's layer table (the one whose first column is "folder", last "may import"). */
function tableRows(markdown: string): string[][] {
  const lines = markdown.split("\n");
  const header = lines.findIndex((line) => TABLE_HEADER.test(line));
  if (header < 0) throw new Error('no table with the columns "folder" … "may import"');
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split("|").slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

/** A "may import" cell as a list: `engine (printer, events), plan` → engine, plan; `—` → none. */
const importsOfCell = (cell: string): string[] =>
  cell.replace(/\([^)]*\)/g, "").replaceAll("`", "").split(",").map((part) => part.trim())
    .filter((part) => part !== "" && part !== "—");

const listed = (entries: readonly string[]) => entries.length ? entries.join(", ") : "nothing";

/** Where the doc's layer table and `layers` differ, one line per folder; empty when they agree. */
export function tableDifferences(markdown: string, layers: Layers): string[] {
  const differences: string[] = [];
  const doc = new Map<string, string[]>();
  for (const cells of tableRows(markdown)) {
    const folder = /^`src\/([a-z_]+)\/`$/.exec(cells[0])?.[1];
    if (!folder) {
      differences.push(`table: row "${cells[0]}" does not name a folder as \`src/<folder>/\``);
    } else if (doc.has(folder)) {
      differences.push(`table: src/${folder}/ has two rows`);
    } else doc.set(folder, importsOfCell(cells.at(-1) ?? ""));
  }
  for (const [folder, docImports] of doc) {
    const allowed = layers[folder];
    if (!allowed) {
      differences.push(`table: src/${folder}/ is in the doc but has no place in MAY_IMPORT`);
      continue;
    }
    const extra = docImports.filter((entry) => !allowed.includes(entry));
    const missing = allowed.filter((entry) => !docImports.includes(entry));
    if (extra.length || missing.length || docImports.length !== new Set(docImports).size) {
      differences.push(
        `table: src/${folder}/ may import ${listed(docImports)} in the doc but ` +
          `${listed(allowed)} in MAY_IMPORT` +
          (extra.length ? `; only the doc has ${extra.join(", ")}` : "") +
          (missing.length ? `; only MAY_IMPORT has ${missing.join(", ")}` : ""),
      );
    }
  }
  for (const folder of Object.keys(layers)) {
    if (!doc.has(folder)) {
      differences.push(`table: src/${folder}/ is in MAY_IMPORT but not in the doc`);
    }
  }
  return differences;
}

/** The doc's first fenced block: the layer diagram. */
function diagramLines(markdown: string): string[] {
  const match = /^```[^\n]*\n([\s\S]*?)^```/m.exec(markdown);
  if (!match) throw new Error("no fenced block (the layer diagram) in the doc");
  return match[1].split("\n");
}

/** A folder in the diagram is written `name/`; `kube/objects.ts` or `src/engine/x.ts` is no folder. */
const FOLDER_IN_DIAGRAM = /(?<![\w./])([a-z_]+)\/(?![\w.])/g;

/**
 * Where the doc's diagram contradicts `layers`: a folder missing, drawn twice or unknown, or drawn
 * on the row of a folder it may import or below it (imports point down). Empty when they agree.
 */
export function diagramDifferences(markdown: string, layers: Layers): string[] {
  const differences: string[] = [];
  const lineOf = new Map<string, number>();
  diagramLines(markdown).forEach((line, index) => {
    for (const [, folder] of line.matchAll(FOLDER_IN_DIAGRAM)) {
      if (!layers[folder]) {
        differences.push(`diagram: ${folder}/ (line ${index + 1}) has no place in MAY_IMPORT`);
      } else if (lineOf.has(folder)) {
        differences.push(
          `diagram: ${folder}/ is drawn twice (lines ${lineOf.get(folder)! + 1}, ${index + 1})`,
        );
      } else lineOf.set(folder, index);
    }
  });
  for (const [folder, allowed] of Object.entries(layers)) {
    const row = lineOf.get(folder);
    if (row === undefined) {
      differences.push(`diagram: ${folder}/ is in MAY_IMPORT but not in the diagram`);
      continue;
    }
    for (const entry of allowed) {
      const targetRow = lineOf.get(folderOfEntry(entry));
      if (targetRow !== undefined && targetRow <= row) {
        differences.push(
          `diagram: ${folder}/ (line ${row + 1}) imports ${entry}, drawn on line ${
            targetRow + 1
          }: ` +
            `not below it`,
        );
      }
    }
  }
  return differences;
}

/** `markdown` with the "may import" cell of `folder`'s table row replaced by `cell`. */
function withImportCell(markdown: string, folder: string, cell: string): string {
  let edited = 0;
  const text = markdown.split("\n").map((line) => {
    if (!line.startsWith(`| \`src/${folder}/\``)) return line;
    edited++;
    const cells = line.split("|");
    cells[cells.length - 2] = ` ${cell} `;
    return cells.join("|");
  }).join("\n");
  assert.equal(edited, 1, `the table has no single row for src/${folder}/`);
  return text;
}

Deno.test("docs/architecture.md's layer table lists what MAY_IMPORT allows", async () => {
  assert.deepEqual(tableDifferences(await Deno.readTextFile(DOC), MAY_IMPORT), []);
});

Deno.test("docs/architecture.md's diagram draws every folder above what it may import", async () => {
  assert.deepEqual(diagramDifferences(await Deno.readTextFile(DOC), MAY_IMPORT), []);
});

Deno.test("a layer table that differs from MAY_IMPORT is caught, by folder (negative control)", async () => {
  const doc = await Deno.readTextFile(DOC);
  assert.deepEqual(tableDifferences(withImportCell(doc, "kube", "engine, plan, pki"), MAY_IMPORT), [
    "table: src/kube/ may import engine, plan, pki in the doc but plan, pki in MAY_IMPORT; " +
    "only the doc has engine",
  ]);
  assert.deepEqual(
    tableDifferences(
      withImportCell(doc, "rollback", "steps, kubelet, engine, formats, plan, pki"),
      MAY_IMPORT,
    ),
    [
      "table: src/rollback/ may import steps, kubelet, engine, formats, plan, pki in the doc but " +
      "steps, state, kubelet, engine, formats, plan, pki in MAY_IMPORT; only MAY_IMPORT has state",
    ],
  );
  const withoutPki = doc.split("\n").filter((line) => !line.startsWith("| `src/pki/`")).join("\n");
  assert.deepEqual(tableDifferences(withoutPki, MAY_IMPORT), [
    "table: src/pki/ is in MAY_IMPORT but not in the doc",
  ]);
  const { pki: _, ...withoutPkiLayer } = MAY_IMPORT;
  assert.deepEqual(tableDifferences(doc, withoutPkiLayer), [
    "table: src/pki/ is in the doc but has no place in MAY_IMPORT",
  ]);
});

Deno.test("a diagram that draws a folder above one that imports it is caught (negative control)", async () => {
  const doc = await Deno.readTextFile(DOC);
  // kube/ drawn where engine/ is, and engine/ where kube/ is: the map the doc once had.
  const swapped = doc.replace(
    /^```[^\n]*\n[\s\S]*?^```/m,
    (diagram) =>
      diagram.replace(
        FOLDER_IN_DIAGRAM,
        (token, folder) => folder === "kube" ? "engine/" : folder === "engine" ? "kube/" : token,
      ),
  );
  const differences = diagramDifferences(swapped, MAY_IMPORT);
  assert.ok(
    differences.some((line) =>
      /^diagram: engine\/ .* imports kube\/objects\.ts, .*not below it$/.test(line)
    ),
    differences.join("\n"),
  );
  const twice = doc.replace(/^```[^\n]*\n/m, (fence) => `${fence}pki/\n`);
  assert.ok(
    diagramDifferences(twice, MAY_IMPORT).some((line) =>
      line.startsWith("diagram: pki/ is drawn twice")
    ),
  );
});
