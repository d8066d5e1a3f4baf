import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { memoryPrinter } from "../engine/printer.ts";

for (const command of ["rotate", "status", "verify-kubelets"]) {
  Deno.test(`${command} with a missing --kubeconfig exits 2 naming the file`, async () => {
    const printer = memoryPrinter();
    const code = await runCli(
      [command, "--plan", "plans/kubeadm.yaml", "--kubeconfig", "/nonexistent/kubeconfig"],
      printer,
    );
    assert.equal(code, 2, printer.lines.join("\n"));
    assert.match(
      printer.lines.join("\n"),
      /kubeconfig "\/nonexistent\/kubeconfig": file not found/,
    );
  });
}
