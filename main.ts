/**
 * ca-rotator: rotates a Kubernetes cluster's certificate authority from a plan kept in git.
 * This file only dispatches to the CLI.
 * @module
 */
import { runCli } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
