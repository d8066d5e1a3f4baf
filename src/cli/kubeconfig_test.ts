import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { memoryPrinter } from "../engine/printer.ts";

const PLAN = "plans/kubeadm.yaml";

Deno.test("kubeconfig: a missing --in file is bad input naming it", async () => {
  const printer = memoryPrinter();
  const code = await runCli(
    ["kubeconfig", "--plan", PLAN, "--in", "/nonexistent/ci.yaml", "--out", "/nonexistent/out"],
    printer,
  );
  assert.equal(code, 2, printer.lines.join("\n"));
  assert.match(
    printer.lines.join("\n"),
    /Cannot read --in "\/nonexistent\/ci\.yaml": file not found/,
  );
});

Deno.test("kubeconfig: an --in that is not YAML is bad input naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/ci.yaml`;
    await Deno.writeTextFile(input, "clusters: [unclosed\n  - {");
    const printer = memoryPrinter();
    const code = await runCli(["kubeconfig", "--plan", PLAN, "--in", input], printer);
    assert.equal(code, 2, printer.lines.join("\n"));
    assert.match(printer.lines.join("\n"), /ci\.yaml: not valid YAML/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubeconfig: -o json without --out is a usage error (stdout holds the document)", async () => {
  const printer = memoryPrinter();
  const code = await runCli(
    ["kubeconfig", "--plan", PLAN, "--in", "x.yaml", "-o", "json"],
    printer,
  );
  assert.equal(code, 2);
  assert.match(printer.lines.join("\n"), /give --out for the kubeconfig/);
});
