/**
 * ca-rotator: rotates a Kubernetes cluster's certificate authority from a plan kept in git.
 * This file only moves to the caller's directory (so that paths on the command line are the
 * caller's, also under `deno task`) and dispatches to the CLI.
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { callerDirectory } from "./src/cli/caller_directory.ts";
import { runCli } from "./src/cli/program.ts";

if (import.meta.main) {
  const directory = callerDirectory({
    cwd: Deno.cwd(),
    initCwd: Deno.env.get("INIT_CWD"),
    home: dirname(fileURLToPath(import.meta.url)),
  });
  try {
    Deno.chdir(directory);
  } catch (error) {
    console.error(`error: Cannot change to the caller's directory "${directory}": ${error}`);
    Deno.exit(2);
  }
  Deno.exit(await runCli(Deno.args));
}
