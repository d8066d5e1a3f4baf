/**
 * The command line: builds options from flags and hands them to the commands. It holds no
 * rotation logic of its own.
 * @module
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ExitCode, InputError } from "./exit_code.ts";
import { consolePrinter, type Printer } from "../engine/printer.ts";
import { PlanError } from "../plan/plan_error.ts";
import { validateCommand } from "./validate.ts";
import { rotateCommand } from "./rotate.ts";
import { statusCommand } from "./status.ts";
import { verifyKubeletsCommand } from "./verify_kubelets.ts";
import { annotationsOf, inGitHubActions } from "./github_actions.ts";

const output = () =>
  new Option("--output <format>", "output format").choices(["text", "json"] as const).default(
    "text" as const,
  );

/** Parses `args`, runs the command and returns its exit code. */
export async function runCli(args: string[], printer: Printer = consolePrinter()): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = new Command()
    .name("ca-rotator")
    .description("Rotates a Kubernetes cluster's certificate authority from a plan kept in git.")
    .exitOverride()
    .configureOutput({ writeErr: (text) => printer.error(text.trimEnd().replace(/^error: /, "")) });

  program.command("validate")
    .description("check a plan without touching the cluster")
    .requiredOption("--plan <file>", "the plan file")
    .action(async (options) => {
      exitCode = await validateCommand(options, printer);
    });

  program.command("rotate")
    .description("run the plan up to its stopAfter phase (or show what it would change)")
    .requiredOption("--plan <file>", "the plan file")
    .option("--dry-run", "show the diff of every remaining step and change nothing", false)
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .addOption(
      new Option("--output <format>", "output format (jsonl: one event per line, docs/events.md)")
        .choices(["text", "json", "jsonl"] as const).default("text" as const),
    )
    .option("--summary <file>", "also write a Markdown summary of the run to this file")
    .option("--timestamps", "start every log line with an RFC 3339 time", false)
    .action(async (options) => {
      exitCode = await rotateCommand(options, printer);
    });

  program.command("status")
    .description("show the rotation's progress recorded in the cluster")
    .requiredOption("--plan <file>", "the plan file")
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .addOption(output())
    .action(async (options) => {
      exitCode = await statusCommand(options, printer);
    });

  program.command("verify-kubelets")
    .description("report which CA issued every kubelet's client certificate")
    .option("--plan <file>", "take the CAs and node access from this plan")
    .option("--ca-bundle <file>", "PEM file with the new CA (and optionally the old one)")
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .option("--wait <duration>", "wait until every node is ok (e.g. 10m)")
    .option("--force-rotation", "make straggling nodes obtain a new-CA certificate", false)
    .addOption(output())
    .action(async (options) => {
      exitCode = await verifyKubeletsCommand(options, printer);
    });

  try {
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    return exitCodeOf(error, printer);
  }
}

function exitCodeOf(error: unknown, printer: Printer): number {
  const env = Deno.env.toObject();
  if (inGitHubActions(env) && !(error instanceof CommanderError)) {
    // Workflow commands on stderr: stdout stays one JSON document (or stream) for --output.
    const text = annotationsOf(error, env.GITHUB_WORKSPACE).map((line) => line + "\n").join("");
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
      return ExitCode.Ok;
    }
    return ExitCode.BadInput;
  }
  if (error instanceof PlanError || error instanceof InputError) {
    printer.error(error.message);
    return ExitCode.BadInput;
  }
  printer.error(error instanceof Error ? error.message : String(error));
  return ExitCode.Failure;
}
