/**
 * The command line: builds options from flags and hands them to the commands. It holds no
 * rotation logic of its own. A command's module — and with it the Kubernetes client, the step
 * kinds, the PKI — is loaded only when that command runs, so `--help` and `validate` start fast.
 * @module
 */
import {
  Argument,
  Command,
  CommanderError,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import { exitCodeOf } from "./exit_code.ts";
import { consolePrinter, type Printer } from "../engine/printer.ts";
import { DurationError, parseDuration } from "../plan/duration.ts";
import { documentFormat, outputOption, requestedOutput } from "./output_format.ts";
import { eventLine } from "./event_lines.ts";
import {
  type ErrorContext,
  errorDocument,
  outputDocument,
  printDocument,
  writeStdout,
} from "./output_document.ts";
import { VERSION } from "./version.ts";
import { annotationsOf, inGitHubActions } from "./github_actions.ts";

/** Examples shown at the end of a command's help. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join("\n")}\n`;
}

/** `--wait` and other durations: Go/kubectl style, `300ms`, `10m`, `1.5h`, `1h30m`. */
function durationArgument(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof DurationError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** A whole number of days, at least 1. */
function daysArgument(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text)) {
    throw new InvalidArgumentError(`"${text}" is not a whole number of days (e.g. 30, 180)`);
  }
  return Number(text);
}

/**
 * The program: every command with its flags and help. Actions set `result.exitCode`;
 * `completion: false` leaves out the completion commands (the completion library adds its own).
 */
export function buildProgram(
  printer: Printer,
  result: { exitCode: number },
  { completion = true }: { completion?: boolean } = {},
) {
  const program = new Command()
    .name("ca-rotator")
    .description("Rotates a Kubernetes cluster's certificate authority from a plan kept in git.")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({
      outputError: (text) => printer.error(text.trimEnd().replace(/^error: /, "")),
      writeErr: (text) => printer.info(text.trimEnd()),
    })
    .addHelpText(
      "after",
      examples(
        "ca-rotator validate --plan plans/prod.yaml",
        "ca-rotator rotate --plan plans/prod.yaml --dry-run",
        "ca-rotator rotate --plan plans/prod.yaml -o json",
        "ca-rotator completion bash > /etc/bash_completion.d/ca-rotator",
      ) + "\nExit codes: 0 done, 1 failure, 2 bad input (nothing changed), 3 stopped at a gate.\n",
    );

  program.command("validate")
    .description("check a plan without touching the cluster")
    .requiredOption("--plan <file>", "the plan file")
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples(
        "ca-rotator validate --plan plans/kubeadm.yaml",
        "ca-rotator validate --plan plans/kubeadm.yaml -o json",
      ),
    )
    .action(async (options) => {
      const { validateCommand } = await import("./validate.ts");
      result.exitCode = await validateCommand(options, printer);
    });

  program.command("init")
    .description(
      "write a plan for the cluster the kubeconfig points at (reads it, changes nothing)",
    )
    .option("--out <file>", "write the plan to this file (default: stdout)")
    .option("--force", "overwrite --out if it exists", false)
    .option("--name <name>", "the plan's name (default: the cluster's name)")
    .addOption(
      new Option("--driver <driver>", "how the plan reaches the nodes").choices(
        ["ssh", "local"] as const,
      ).default("ssh" as const),
    )
    .option("--user <user>", "ssh: the login user (default: ssh's own)")
    .option("--identity-file <file>", "ssh: the identity file", "~/.ssh/ca-rotator")
    .option("--known-hosts-file <file>", "ssh: a known_hosts file that pins the host keys")
    .option("--no-sudo", "ssh: run commands without sudo (log in as root)")
    .option("--node-roots <dir>", "local: the directory holding each node's root, DIR/<node>")
    .option(
      "--address-type <type>",
      "the Node address ssh dials (InternalIP, ExternalIP, Hostname)",
      "InternalIP",
    )
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .addHelpText(
      "after",
      examples(
        "ca-rotator init --out plans/prod.yaml --name prod --user ops",
        "ca-rotator init --context prod-admin > plans/prod.yaml",
        "ca-rotator init --driver local --node-roots /tmp/ca-rotator-cluster/nodes --out plan.yaml",
      ) +
        "\nThe plan is plans/kubeadm.yaml filled in from the cluster; every comment starting\n" +
        '"init:" says what was found. Then: validate, and rotate --dry-run.\n',
    )
    .action(async (options) => {
      const { initCommand } = await import("./init.ts");
      result.exitCode = await initCommand(options, printer);
    });

  program.command("rotate")
    .description("run the plan up to its stopAfter phase (or show what it would change)")
    .requiredOption("--plan <file>", "the plan file")
    .option("--dry-run", "show the diff of every remaining step and change nothing", false)
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .addOption(
      outputOption(["text", "json", "yaml", "jsonl"], "jsonl: one event per line, docs/events.md"),
    )
    .option("--summary <file>", "also write a Markdown summary of the run to this file")
    .option("--timestamps", "start every log line with an RFC 3339 time", false)
    .option("--exit-code", "with --dry-run: exit 4 when the plan would change something", false)
    .option(
      "--nodes-from-inventory",
      "with --dry-run: read the nodes' files from the node inventory in the cluster, not the nodes",
      false,
    )
    .addHelpText(
      "after",
      examples(
        "ca-rotator rotate --plan plans/prod.yaml --dry-run     # the diff of every remaining step",
        "ca-rotator rotate --plan plans/prod.yaml --dry-run --nodes-from-inventory   # no node access",
        "ca-rotator rotate --plan plans/prod.yaml --dry-run --exit-code   # 4: changes pending",
        "ca-rotator rotate --plan plans/prod.yaml               # run up to stopAfter",
        "ca-rotator rotate --plan plans/prod.yaml -o json       # one JSON document on stdout",
        "ca-rotator rotate --plan plans/prod.yaml -o jsonl      # one event per line as it runs",
        "ca-rotator rotate --plan plans/prod.yaml --summary summary.md   # Markdown for a PR",
      ),
    )
    .action(async (options) => {
      const { rotateCommand } = await import("./rotate.ts");
      result.exitCode = await rotateCommand(options, printer);
    });

  program.command("inventory")
    .description("record what the plan's nodes hold (no keys) for dry runs without node access")
    .requiredOption("--plan <file>", "the plan file")
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .addHelpText(
      "after",
      examples(
        "ca-rotator inventory --plan plans/prod.yaml   # then: rotate --dry-run --nodes-from-inventory",
      ),
    )
    .action(async (options) => {
      const { inventoryCommand } = await import("./inventory.ts");
      result.exitCode = await inventoryCommand(options, printer);
    });

  program.command("rollback")
    .description("undo the trust and switch phases of a rotation (refused once finalize began)")
    .requiredOption("--plan <file>", "the plan file the rotation ran with")
    .option("--dry-run", "show what the rollback would change and change nothing", false)
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .addOption(
      outputOption(["text", "json", "yaml", "jsonl"], "jsonl: one event per line, docs/events.md"),
    )
    .option("--summary <file>", "also write a Markdown summary of the run to this file")
    .option("--timestamps", "start every log line with an RFC 3339 time", false)
    .addHelpText(
      "after",
      examples(
        "ca-rotator rollback --plan plans/prod.yaml --dry-run   # what it would restore",
        "ca-rotator rollback --plan plans/prod.yaml             # back to the old CA only",
      ),
    )
    .action(async (options) => {
      const { rollbackCommand } = await import("./rollback.ts");
      result.exitCode = await rollbackCommand(options, printer);
    });

  program.command("status")
    .description("show the rotation's progress recorded in the cluster")
    .requiredOption("--plan <file>", "the plan file")
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .option("--timeline", "also print the steps' timeline (a Mermaid Gantt chart)", false)
    .option("--no-drift", "do not re-check the done steps on the nodes (no node access needed)")
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples(
        "ca-rotator status --plan plans/prod.yaml",
        "ca-rotator status --plan plans/prod.yaml -o json --context prod-admin",
        "ca-rotator status --plan plans/prod.yaml --timeline   # with a Mermaid Gantt chart",
      ),
    )
    .action(async (options) => {
      const { statusCommand } = await import("./status.ts");
      result.exitCode = await statusCommand(options, printer);
    });

  program.command("unlock")
    .description("free the run lock of a run that is gone (it names its holder when it refuses)")
    .requiredOption("--plan <file>", "the plan file")
    .option("--confirm", "the holder is gone: free its lock", false)
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .addHelpText(
      "after",
      examples(
        "ca-rotator unlock --plan plans/prod.yaml --confirm   # after a killed run on another host",
      ),
    )
    .action(async (options) => {
      const { unlockCommand } = await import("./unlock.ts");
      result.exitCode = await unlockCommand(options, printer);
    });

  program.command("expiry")
    .description("list every CA and certificate on the plan's nodes with its expiry and issuer")
    .requiredOption("--plan <file>", "the plan file (its nodes and layout)")
    .option("--ca-days <days>", "exit 3 when a CA expires within this many days", daysArgument)
    .option(
      "--leaf-days <days>",
      "exit 3 when another certificate expires within this many days",
      daysArgument,
    )
    .option(
      "--kubeconfig <file>",
      "kubeconfig, for a plan whose node groups are found from the cluster (default: $KUBECONFIG, ~/.kube/config)",
    )
    .option("--context <name>", "kubeconfig context (with --kubeconfig)")
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples(
        "ca-rotator expiry --plan plans/prod.yaml",
        "ca-rotator expiry --plan plans/prod.yaml --ca-days 180 --leaf-days 30 -o json",
      ),
    )
    .action(async (options) => {
      const { expiryCommand } = await import("./expiry.ts");
      result.exitCode = await expiryCommand(options, printer);
    });

  program.command("kubeconfig")
    .description("bring a person's or a pipeline's kubeconfig along the rotation's phase")
    .requiredOption("--plan <file>", "the plan file")
    .option(
      "--kubeconfig <file>",
      "kubeconfig of the connection (default: $KUBECONFIG, ~/.kube/config)",
    )
    .option("--context <name>", "kubeconfig context of the connection")
    .option("--in <file>", "the kubeconfig to bring along (default: the connection's)")
    .option("--out <file>", "write the kubeconfig here, mode 0600 (default: stdout)")
    .option(
      "--cluster <name>",
      "the cluster entry to update (repeatable; default: those whose server is this cluster's)",
      (name: string, names: string[] = []) => [...names, name],
    )
    .option("--renew-client", "also renew the user's client certificate through the CSR API", false)
    .option(
      "--timeout <duration>",
      "how long --renew-client waits for approval and certificate (default 2m)",
      durationArgument,
    )
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples(
        "ca-rotator kubeconfig --plan plans/prod.yaml --in ci.kubeconfig --out ci.kubeconfig",
        "ca-rotator kubeconfig --plan plans/prod.yaml --renew-client --out ~/.kube/config",
        "ca-rotator kubeconfig --plan plans/prod.yaml --in bot.yaml --out bot.yaml -o json",
      ) +
        "\nBefore the switch: the bundle of old and new CA; after the switch and before finalize:\n" +
        "--renew-client (the new CA signs); after finalize: the new CA alone.\n",
    )
    .action(async (options) => {
      const { kubeconfigCommand } = await import("./kubeconfig.ts");
      result.exitCode = await kubeconfigCommand(options, printer);
    });

  program.command("version")
    .description("print the release, the commit it runs from and Deno's version")
    .addOption(outputOption())
    .action(async (options) => {
      const { versionInfo, versionLine } = await import("./version.ts");
      const info = await versionInfo();
      const format = documentFormat(options.output);
      if (format) await printDocument(outputDocument("VersionInfo", 0, info), format);
      else console.log(versionLine(info));
    });

  program.command("verify-kubelets")
    .description("report which CA issued every kubelet's client certificate")
    .option("--plan <file>", "take the CAs and node access from this plan")
    .option("--ca-bundle <file>", "PEM file with the new CA (and optionally the old one)")
    .option("--kubeconfig <file>", "kubeconfig file")
    .option("--context <name>", "kubeconfig context")
    .option(
      "--wait <duration>",
      "wait until every node is ok (e.g. 90s, 10m, 1.5h)",
      durationArgument,
    )
    .option("--force-rotation", "make straggling nodes obtain a new-CA certificate", false)
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples(
        "ca-rotator verify-kubelets --plan plans/prod.yaml",
        "ca-rotator verify-kubelets --plan plans/prod.yaml --wait 15m -o json",
        "ca-rotator verify-kubelets --ca-bundle new-ca.crt --kubeconfig admin.conf",
      ),
    )
    .action(async (options) => {
      const { verifyKubeletsCommand } = await import("./verify_kubelets.ts");
      result.exitCode = await verifyKubeletsCommand(options, printer);
    });

  if (completion) {
    program.command("completion")
      .description("print a shell completion script (it calls `ca-rotator complete`)")
      .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"] as const))
      .addHelpText(
        "after",
        examples(
          "ca-rotator completion bash > ~/.local/share/bash-completion/completions/ca-rotator",
          'ca-rotator completion zsh > "${fpath[1]}/_ca-rotator"',
          "ca-rotator completion fish > ~/.config/fish/completions/ca-rotator.fish",
        ),
      )
      .action(async (shell) => {
        const { printCompletionScript } = await import("./completion.ts");
        printCompletionScript(() => buildProgram(printer, result, { completion: false }), shell);
      });

    program.command("complete", { hidden: true })
      .description("print the completions of a command line (used by the completion scripts)")
      .argument("[words...]")
      .allowUnknownOption()
      .action(async (words) => {
        const { printCompletions } = await import("./completion.ts");
        printCompletions(() => buildProgram(printer, result, { completion: false }), words);
      });
  }

  for (const command of program.commands) {
    command.showHelpAfterError(`(see "ca-rotator ${command.name()} --help")`);
  }
  program.showHelpAfterError(`(see "ca-rotator --help")`);
  return program;
}

/**
 * Parses `args`, runs the command and returns its exit code. With `-o json` every outcome —
 * usage errors and failures included — is one JSON document on stdout.
 */
export async function runCli(args: string[], printer: Printer = consolePrinter()): Promise<number> {
  const result = { exitCode: 0 };
  const program = buildProgram(printer, result);
  let context: ErrorContext & { output?: string } | undefined;
  program.hook("preAction", (_program, action) => {
    const options = action.opts() as { plan?: string; output?: string };
    context = { command: action.name(), plan: options.plan, output: options.output };
  });
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    // The release and the commit: commander's --version knows only a fixed string.
    const { versionInfo, versionLine } = await import("./version.ts");
    console.log(versionLine(await versionInfo()));
    return 0;
  }
  if (args.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return result.exitCode;
  } catch (error) {
    const exitCode = exitCodeOf(error);
    const env = Deno.env.toObject();
    if (inGitHubActions(env) && !(error instanceof CommanderError)) {
      // Workflow commands on stderr: stdout stays one JSON document (or stream) for --output.
      const text = annotationsOf(error, env.GITHUB_WORKSPACE).map((line) => line + "\n").join("");
      Deno.stderr.writeSync(new TextEncoder().encode(text));
    }
    if (error instanceof CommanderError) {
      const requested = requestedOutput(args);
      const format = documentFormat(requested);
      if (exitCode !== 0 && requested === "jsonl") {
        // The event stream's promise: a Summary line is always the last, a usage error's too.
        writeStdout(
          eventLine({
            type: "Summary",
            outcome: "failed",
            exitCode,
            dryRun: args.includes("--dry-run"),
            error: error.message.replace(/^error: /, ""),
          }, new Date()) + "\n",
        );
      }
      if (exitCode !== 0 && format) {
        const command = args.find((arg) => program.commands.some((each) => each.name() === arg));
        await printDocument(
          errorDocument(error.message.replace(/^error: /, ""), exitCode, { command }),
          format,
        );
      }
      return exitCode;
    }
    printer.error(error instanceof Error ? error.message : String(error));
    const format = documentFormat(context?.output ?? requestedOutput(args));
    if (format) await printDocument(errorDocument(error, exitCode, context ?? {}), format);
    return exitCode;
  }
}
