import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { memoryPrinter } from "../engine/printer.ts";
import { parse as parseYaml } from "yaml";

async function validate(plan: string) {
  const printer = memoryPrinter();
  const code = await runCli(["validate", "--plan", plan], printer);
  return { code, output: printer.lines.join("\n") };
}

Deno.test("validate accepts the shipped kubeadm plan with exit code 0", async () => {
  const { code, output } = await validate("plans/kubeadm.yaml");
  assert.equal(code, 0);
  assert.match(output, /plan "plans\/kubeadm.yaml" is valid: 45 steps/);
});

for (
  const [file, line, field] of [
    ["unknown_kind.yaml", 23, 'steps\\[1\\].kind: unknown step kind "restart-everything"'],
    ["missing_field.yaml", 17, "steps\\[0\\].ca: is missing"],
    ["bad_indent.yaml", 20, "steps\\[0\\].phase: YAML syntax error"],
    ["unknown_stop_after.yaml", 6, 'stopAfter: unknown phase "finalise"'],
  ] as const
) {
  Deno.test(`validate refuses ${file} with exit code 2 naming file, line and field`, async () => {
    const path = `src/plan/testdata/${file}`;
    const { code, output } = await validate(path);
    assert.equal(code, 2);
    assert.match(
      output,
      new RegExp(`Cannot load plan "${path}": line ${line}(, column \\d+)?, ${field}`),
    );
  });
}

Deno.test("a missing flag or plan file is bad input (exit code 2)", async () => {
  assert.equal(await runCli(["validate"], memoryPrinter()), 2);
  assert.equal((await validate("plans/no-such-plan.yaml")).code, 2);
  assert.equal(
    await runCli(["rotate", "--plan", "plans/kubeadm.yaml", "--output", "xml"], memoryPrinter()),
    2,
  );
});

// ─── the command line as a user runs it: a subprocess of main.ts ───

const repo = new URL("../../", import.meta.url).pathname;

/** Runs `deno run -A main.ts …args` in the checkout; returns exit code, stdout and stderr. */
async function cli(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: repo,
    env: { INIT_CWD: "", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/** The one JSON document on stdout, with the fields every document has. */
function document(stdout: string, kind: string, exitCode: number) {
  const doc = JSON.parse(stdout);
  assert.equal(doc.apiVersion, "ca-rotator.dev/v1");
  assert.equal(doc.kind, kind);
  assert.equal(doc.exitCode, exitCode);
  return doc;
}

Deno.test("a bare call, help and --help print the help on stdout and exit 0", async () => {
  for (const args of [[], ["help"], ["--help"], ["help", "rotate"]]) {
    const { code, stdout } = await cli(...args);
    assert.equal(code, 0, args.join(" "));
    assert.match(stdout, /^Usage: ca-rotator/, args.join(" "));
  }
  const rotate = await cli("rotate", "--help");
  assert.match(rotate.stdout, /-o, --output <format>/);
  assert.match(rotate.stdout, /Examples:\n {2}ca-rotator rotate --plan plans\/prod.yaml --dry-run/);
});

Deno.test("--version, -V and version print the release and the checkout's commit", async () => {
  const { VERSION } = await import("./version.ts");
  const head = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["-C", repo, "rev-parse", "HEAD"], stdout: "piped" })
      .output()).stdout,
  ).trim();
  assert.match(head, /^[0-9a-f]{40}$/, "the tests run in a git checkout");
  for (const args of [["--version"], ["-V"], ["version"]]) {
    const { code, stdout } = await cli(...args);
    assert.equal(code, 0);
    assert.match(
      stdout.trim(),
      new RegExp(
        `^ca-rotator ${VERSION.replaceAll(".", "\\.")} \\(commit ${
          head.slice(0, 12)
        }(\\+dirty)?, ` +
          `deno ${Deno.version.deno.replaceAll(".", "\\.")}\\)$`,
      ),
      args.join(" "),
    );
  }
  const json = await cli("version", "-o", "json");
  const doc = document(json.stdout, "VersionInfo", 0);
  assert.equal(doc.version, VERSION);
  assert.equal(doc.commit, head);
  assert.equal(typeof doc.dirty, "boolean");
  const changelog = await Deno.readTextFile(`${repo}/CHANGELOG.md`);
  assert.match(
    changelog,
    new RegExp(`^## ${VERSION.replaceAll(".", "\\.")} `, "m"),
    "CHANGELOG.md has the release",
  );
});

Deno.test("versionInfo outside a git checkout: commit unknown", async () => {
  const { versionInfo, versionLine } = await import("./version.ts");
  const dir = await Deno.makeTempDir();
  try {
    const info = await versionInfo(`file://${dir}/main.ts`);
    assert.equal(info.commit, "unknown");
    assert.match(versionLine(info), /\(commit unknown, deno /);
    assert.equal((await versionInfo("https://example.com/main.ts")).commit, "unknown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a usage error exits 2 and points at the command's --help", async () => {
  const missing = await cli("rotate", "--dry-run");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error: required option '--plan <file>' not specified/);
  assert.match(missing.stderr, /\(see "ca-rotator rotate --help"\)/);
  assert.equal(missing.stdout, "");
  const unknown = await cli("rotat");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'rotat'[\s\S]*Did you mean rotate\?/);
});

Deno.test("-o json: a usage error is one Error document on stdout", async () => {
  const { code, stdout } = await cli("status", "-o", "json");
  assert.equal(code, 2);
  const doc = document(stdout, "Error", 2);
  assert.equal(doc.command, "status");
  assert.match(doc.error, /required option '--plan <file>' not specified/);
  const output = await cli("validate", "--plan", "plans/kubeadm.yaml", "--output=toml");
  assert.equal(output.code, 2);
  assert.match(output.stderr, /argument 'toml' is invalid/);
});

Deno.test("validate -o json: a ValidationResult, or an Error naming file, line and field", async () => {
  const valid = await cli("validate", "--plan", "plans/kubeadm.yaml", "-o", "json");
  assert.equal(valid.code, 0, valid.stderr);
  const doc = document(valid.stdout, "ValidationResult", 0);
  assert.equal(doc.valid, true);
  assert.equal(doc.plan, "plans/kubeadm.yaml");
  assert.equal(doc.steps, 45);
  assert.deepEqual(doc.stepsPerPhase, { trust: 16, switch: 11, finalize: 18 });
  assert.match(doc.digest, /^sha256:[0-9a-f]{64}$/);

  const path = "src/plan/testdata/unknown_kind.yaml";
  const bad = await cli("validate", "--plan", path, "-o", "json");
  assert.equal(bad.code, 2);
  const error = document(bad.stdout, "Error", 2);
  assert.equal(error.command, "validate");
  assert.equal(error.plan, path);
  assert.match(error.error, /unknown step kind "restart-everything"/);
  const [problem] = error.problems;
  assert.deepEqual([problem.file, problem.line, problem.field], [path, 23, "steps[1].kind"]);
  assert.match(problem.message, /^unknown step kind "restart-everything"/);
  assert.match(bad.stderr, /error: Cannot load plan/);
});

Deno.test("--wait takes Go-style durations; a bad one is a usage error naming it", async () => {
  const bad = await cli("verify-kubelets", "--ca-bundle", "x.pem", "--wait", "10", "-o", "json");
  assert.equal(bad.code, 2);
  const doc = document(bad.stdout, "Error", 2);
  assert.match(doc.error, /--wait <duration>.*invalid duration "10": missing unit after 10/);
  // A good duration gets past the flags: the next problem is the missing file.
  const good = await cli("verify-kubelets", "--ca-bundle", "no-such.pem", "--wait", "1.5h");
  assert.equal(good.code, 2);
  assert.match(good.stderr, /--ca-bundle: cannot read "no-such.pem"/);
});

Deno.test("an error with -o json is an Error document with its exit code (a missing kubeconfig: 2)", async () => {
  const { code, stdout } = await cli(
    "status",
    "--plan",
    "plans/kubeadm.yaml",
    "--kubeconfig",
    "no-such-kubeconfig",
    "-o",
    "json",
  );
  assert.equal(code, 2);
  const doc = document(stdout, "Error", 2);
  assert.equal(doc.command, "status");
  assert.equal(doc.plan, "plans/kubeadm.yaml");
  assert.match(doc.error, /kubeconfig "[^"]*no-such-kubeconfig": file not found/);
});

Deno.test("completion prints a script for bash, zsh and fish that asks `ca-rotator complete`", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const { code, stdout } = await cli("completion", shell);
    assert.equal(code, 0, shell);
    assert.match(stdout, /ca-rotator complete --/, shell);
  }
  const commands = await cli("complete", "--", "ro");
  assert.match(commands.stdout, /^rotate\t/m);
  const options = await cli("complete", "--", "rotate", "--");
  assert.match(options.stdout, /^--dry-run\t/m);
  assert.match(options.stdout, /^--plan\t/m);
  const formats = await cli("complete", "--", "rotate", "--output", "");
  assert.match(formats.stdout, /^json\t/m);
  const shells = await cli("complete", "--", "completion", "");
  assert.deepEqual(
    shells.stdout.split("\n").filter((line) => /\t/.test(line)).map((line) => line.split("\t")[0]),
    ["bash", "zsh", "fish"],
    "the shells `completion` takes, no more",
  );
  const plans = await cli("complete", "--", "rotate", "--plan", "plans/k");
  assert.match(plans.stdout, /^plans\/kubeadm\.yaml\t/m, "file names for --plan");
  const dirs = await cli("complete", "--", "validate", "--plan", "pla");
  assert.match(dirs.stdout, /^plans\/\t/m, "directories too");
  assert.doesNotMatch(dirs.stdout, /^plans\/kubeadm/m);
  const unknown = await cli("completion", "tcsh");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Allowed choices are bash, zsh, fish/);
});

Deno.test("-o yaml: the same document as -o json, as YAML, errors too", async () => {
  const json = await cli("validate", "--plan", "plans/kubeadm.yaml", "-o", "json");
  const yaml = await cli("validate", "--plan", "plans/kubeadm.yaml", "-o", "yaml");
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.deepEqual(parseYaml(yaml.stdout), document(json.stdout, "ValidationResult", 0));
  const missing = await cli("status", "--plan", "plans/none.yaml", "-o", "yaml");
  assert.equal(missing.code, 2);
  const error = parseYaml(missing.stdout) as Record<string, unknown>;
  assert.equal(error.kind, "Error");
  assert.equal(error.exitCode, 2);
  assert.match(String(error.error), /Cannot load plan "plans\/none\.yaml": file not found/);
  const usage = await cli("validate", "-o", "yaml");
  assert.equal(usage.code, 2);
  assert.equal((parseYaml(usage.stdout) as Record<string, unknown>).kind, "Error");
});

Deno.test("-o jsonl: a usage error still ends the stream with its Summary line", async () => {
  const { code, stdout } = await cli(
    "rotate",
    "--plan",
    "plans/kubeadm.yaml",
    "-o",
    "jsonl",
    "--bogus",
  );
  assert.equal(code, 2);
  const lines = stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].kind, "RotateEvent");
  assert.equal(lines[0].type, "Summary");
  assert.equal(lines[0].outcome, "failed");
  assert.equal(lines[0].exitCode, 2);
  assert.match(lines[0].error, /unknown option '--bogus'/);
});
