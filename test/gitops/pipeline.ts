/**
 * Runs the pipelines of docs/ci.md as a CI runner would, from a repository directory of the
 * user's: the GitHub Actions workflow's jobs (its `run:` steps in order, with `GITHUB_ACTIONS`,
 * `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`, `RUNNER_TEMP`, the workflow's `env` and `${{ secrets.X }}`)
 * and the GitLab jobs' `before_script` + `script`. The two `uses:` actions it knows are stood in
 * for: checking out ca-rotator links this checkout, setting up Deno puts this Deno on PATH. The
 * GitLab `before_script`'s clone of ca-rotator is likewise replaced by a link.
 * @module
 */
import { dirname, join } from "node:path";
import { parse } from "yaml";

const repo = new URL("../../", import.meta.url).pathname;

/** The YAML code block of docs/ci.md that follows a line naming `file`. */
export async function pipelineFromDocs(file: string): Promise<Record<string, unknown>> {
  const text = await Deno.readTextFile(join(repo, "docs/ci.md"));
  const at = text.indexOf("`" + file + "`");
  if (at < 0) throw new Error(`docs/ci.md does not name ${file}`);
  const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`docs/ci.md has no YAML block after ${file}`);
  return parse(block[1]);
}

/** The outcome of one job. */
export interface JobRun {
  readonly job: string;
  /** The exit code of the job: the first failing step's, else 0. */
  readonly code: number;
  /** Every step's combined output, in order. */
  readonly log: string;
  /** What the job wrote to $GITHUB_STEP_SUMMARY (GitHub) or summary.md (GitLab). */
  readonly summary: string;
}

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly with?: Record<string, string>;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly if?: string;
}

/** Runs a GitHub Actions job of `workflow` in `workspace`. */
export async function runGithubJob(
  workflow: Record<string, unknown>,
  job: string,
  options: {
    readonly workspace: string;
    readonly secrets: Record<string, string>;
    readonly env: Record<string, string>;
    readonly event: string;
  },
): Promise<JobRun> {
  const jobs = workflow.jobs as Record<string, { if?: string; steps: Step[] }>;
  const spec = jobs[job];
  if (spec.if && !spec.if.includes(`'${options.event}'`)) {
    throw new Error(`job ${job} does not run on ${options.event} (if: ${spec.if})`);
  }
  const temp = await Deno.makeTempDir({ prefix: "runner-temp-" });
  const summaryFile = join(temp, "step-summary.md");
  const pathFile = join(temp, "github-path");
  await Deno.writeTextFile(summaryFile, "");
  await Deno.writeTextFile(pathFile, "");
  const extraPath: string[] = [dirname(Deno.execPath())];
  let log = "";
  let code = 0;
  try {
    const steps = (await Promise.all(spec.steps.map((step) => expandAction(step)))).flat();
    for (const step of steps) {
      if (step.uses) {
        await standIn(step, options.workspace);
        continue;
      }
      if (code !== 0 && step.if !== "always()") continue;
      const env: Record<string, string> = {
        ...options.env,
        ...(workflow.env as Record<string, string>),
        ...Object.fromEntries(
          Object.entries(step.env ?? {}).map(([key, value]) => [key, expand(value, options)]),
        ),
        GITHUB_ACTIONS: "true",
        GITHUB_EVENT_NAME: options.event,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_PATH: pathFile,
        GITHUB_WORKSPACE: options.workspace,
        GITHUB_SERVER_URL: "https://github.example",
        GITHUB_REPOSITORY: "example/plans",
        GITHUB_RUN_ID: "4242",
        RUNNER_TEMP: temp,
        CI: "true",
      };
      env.PATH = [...extraPath, env.PATH ?? Deno.env.get("PATH") ?? ""].join(":");
      const result = await bash(step.run!, options.workspace, env);
      log += `## ${step.name ?? step.run}\n${result.output}`;
      if (result.code !== 0 && code === 0) code = result.code;
      const added = (await Deno.readTextFile(pathFile)).split("\n").filter(Boolean);
      for (const path of added.reverse()) if (!extraPath.includes(path)) extraPath.unshift(path);
    }
    return { job, code, log, summary: await Deno.readTextFile(summaryFile) };
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
}

/** Runs a GitLab CI job of `pipeline` (default `before_script`, then its `script`). */
export async function runGitlabJob(
  pipeline: Record<string, unknown>,
  job: string,
  options: { readonly workspace: string; readonly env: Record<string, string> },
): Promise<JobRun> {
  const defaults = pipeline.default as { before_script: string[] };
  const spec = pipeline[job] as { script: string[]; after_script?: string[] };
  const variables = pipeline.variables as Record<string, string>;
  const env: Record<string, string> = {
    ...options.env,
    ...variables,
    CI: "true",
    CI_PROJECT_DIR: options.workspace,
    CI_JOB_URL: `https://gitlab.example/example/plans/-/jobs/${job}`,
    PATH: [dirname(Deno.execPath()), options.env.PATH ?? Deno.env.get("PATH") ?? ""].join(":"),
  };
  const before = defaults.before_script.filter((line) =>
    !/^(apt-get|git clone|git -C ca-rotator)/.test(line)
  );
  await linkCheckout(options.workspace);
  const script = [...before, ...spec.script].join("\n");
  const result = await bash(script, options.workspace, env);
  let log = result.output;
  if (spec.after_script) {
    log += (await bash(spec.after_script.join("\n"), options.workspace, env)).output;
  }
  const summary = await Deno.readTextFile(join(options.workspace, "summary.md")).catch(() => "");
  return { job, code: result.code, log, summary };
}

/** The repository docs/ci.md names for ca-rotator (`uses: example/ca-rotator@<commit>`). */
const CA_ROTATOR_ACTION = "example/ca-rotator@";

/**
 * A step that uses ca-rotator's own action (action.yml, composite): its steps, with
 * `${{ github.action_path }}` this checkout and `${{ inputs.x }}` the step's `with` or the
 * input's default. Any other step as it is.
 */
async function expandAction(step: Step): Promise<Step[]> {
  if (!step.uses?.startsWith(CA_ROTATOR_ACTION)) return [step];
  const action = parse(await Deno.readTextFile(join(repo, "action.yml"))) as {
    inputs?: Record<string, { default?: string }>;
    runs: { using: string; steps: Step[] };
  };
  if (action.runs.using !== "composite") throw new Error("action.yml is not a composite action");
  const inputs = Object.fromEntries(
    Object.entries(action.inputs ?? {}).map(([name, input]) => [
      name,
      step.with?.[name] ?? input.default ?? "",
    ]),
  );
  const substitute = (text: string) =>
    text
      .replace(/\$\{\{\s*github\.action_path\s*\}\}/g, repo.replace(/\/$/, ""))
      .replace(/\$\{\{\s*inputs\.([a-z-]+)\s*\}\}/g, (_, name) => inputs[name] ?? "");
  return action.runs.steps.map((each) => ({
    ...each,
    ...(each.run ? { run: substitute(each.run) } : {}),
    ...(each.with
      ? { with: Object.fromEntries(Object.entries(each.with).map(([k, v]) => [k, substitute(v)])) }
      : {}),
  }));
}

async function standIn(step: Step, workspace: string): Promise<void> {
  if (step.uses!.startsWith("actions/checkout") && step.with?.path === "ca-rotator") {
    await linkCheckout(workspace);
  } else if (step.uses!.startsWith("actions/checkout")) {
    // The workspace is the plan repository's checkout already.
  } else if (!step.uses!.startsWith("denoland/setup-deno")) {
    throw new Error(`no stand-in for ${step.uses}`);
  }
}

async function linkCheckout(workspace: string): Promise<void> {
  await Deno.remove(join(workspace, "ca-rotator")).catch(() => {});
  await Deno.symlink(repo.replace(/\/$/, ""), join(workspace, "ca-rotator"));
}

function expand(value: string, options: { readonly secrets: Record<string, string> }): string {
  return value.replace(/\$\{\{\s*secrets\.([A-Z_]+)\s*\}\}/g, (_, name) => {
    if (!(name in options.secrets)) throw new Error(`no secret ${name}`);
    return options.secrets[name];
  });
}

async function bash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  // GitHub's `run:` shell: bash --noprofile --norc -eo pipefail.
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["--noprofile", "--norc", "-eo", "pipefail", "-c", script],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}
