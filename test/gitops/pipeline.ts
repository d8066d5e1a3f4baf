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
import { eventually, type TestCluster } from "../cluster/harness.ts";

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

/** Runs git in the plan repository `workspace`, as an operator would commit. */
export async function git(workspace: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("git", {
    args: ["-c", "user.name=Operator", "-c", "user.email=op@example.invalid", ...args],
    cwd: workspace,
  }).output();
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** A token of a cluster-admin ServiceAccount (kube-system/ca-rotator): the pipeline's identity. */
export async function pipelineAdminToken(cluster: TestCluster): Promise<string> {
  await cluster.kubectl(["create", "serviceaccount", "-n", "kube-system", "ca-rotator"]);
  await cluster.kubectl([
    "create",
    "clusterrolebinding",
    "ca-rotator-pipeline",
    "--clusterrole=cluster-admin",
    "--serviceaccount=kube-system:ca-rotator",
  ]);
  return (await cluster.kubectl(
    ["create", "token", "-n", "kube-system", "ca-rotator", "--duration=2h"],
  )).trim();
}

/**
 * A pipeline's kubeconfig secret: a ServiceAccount token (tokens survive a CA rotation), whose
 * CA is what the operator keeps current (see docs/ci.md): the cluster's bundle, read from
 * kube-root-ca.crt.
 */
export async function tokenKubeconfig(cluster: TestCluster, token: string): Promise<string> {
  // The controller-manager publishes kube-root-ca.crt a moment after the cluster is up.
  const rootCa = await eventually(
    "kube-root-ca.crt",
    () =>
      cluster.kubectlJson<{ data: Record<string, string> }>(
        ["get", "configmap", "-n", "kube-system", "kube-root-ca.crt"],
      ).catch(() => undefined),
  );
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "prod",
      cluster: {
        server: cluster.endpoint,
        "certificate-authority-data": btoa(rootCa.data["ca.crt"]),
      },
    }],
    users: [{ name: "ca-rotator", user: { token } }],
    contexts: [{ name: "prod", context: { cluster: "prod", user: "ca-rotator" } }],
    "current-context": "prod",
  });
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

/** A job of a GitHub Actions workflow, as far as the runner stand-in reads it. */
interface GithubJob {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly environment?: string;
  readonly env?: Record<string, string>;
  readonly strategy?: {
    readonly "max-parallel"?: number;
    readonly matrix?: Record<string, string[]>;
  };
  readonly steps: Step[];
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
    /** The values of `${{ matrix.x }}` for one entry of the job's matrix. */
    readonly matrix?: Record<string, string>;
    /** Each GitHub environment's secrets, over `secrets` for a job naming the environment. */
    readonly environments?: Record<string, Record<string, string>>;
  },
): Promise<JobRun> {
  const jobs = workflow.jobs as Record<string, GithubJob>;
  const spec = jobs[job];
  if (spec.if && !spec.if.includes(`'${options.event}'`)) {
    throw new Error(`job ${job} does not run on ${options.event} (if: ${spec.if})`);
  }
  const matrix = options.matrix ?? {};
  const environment = spec.environment && expand(spec.environment, { secrets: {}, matrix });
  const scope = {
    secrets: { ...options.secrets, ...options.environments?.[environment ?? ""] },
    matrix,
  };
  if (environment && options.environments && !(environment in options.environments)) {
    throw new Error(`job ${job}: no environment ${environment}`);
  }
  const expandAll = (values: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, expand(v, scope)]));
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
        ...expandAll(spec.env),
        ...expandAll(step.env),
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

/**
 * Runs the jobs of a GitHub Actions workflow as its `needs` chain them: a job runs once every job
 * it needs has succeeded in every matrix entry (else it is skipped), each matrix entry a run, at
 * most `strategy.max-parallel` at a time. Returns each job's runs, in the workflow's order.
 */
export async function runGithubWaves(
  workflow: Record<string, unknown>,
  options: Omit<Parameters<typeof runGithubJob>[2], "matrix">,
): Promise<Map<string, JobRun[] | "skipped">> {
  const jobs = workflow.jobs as Record<string, GithubJob>;
  const outcome = new Map<string, JobRun[] | "skipped">();
  for (const [name, spec] of Object.entries(jobs)) {
    const needs = [spec.needs ?? []].flat();
    const ready = needs.every((need) => {
      const runs = outcome.get(need);
      return Array.isArray(runs) && runs.every((run) => run.code === 0);
    });
    if (!ready) {
      outcome.set(name, "skipped");
      continue;
    }
    const entries = matrixEntries(spec.strategy?.matrix ?? {});
    outcome.set(
      name,
      await inBatches(
        entries,
        spec.strategy?.["max-parallel"] ?? entries.length,
        async (matrix) => {
          const run = await runGithubJob(workflow, name, { ...options, matrix });
          return { ...run, job: `${name} (${Object.values(matrix).join(", ")})` };
        },
      ),
    );
  }
  return outcome;
}

/**
 * Runs the jobs of a GitLab CI pipeline stage by stage: a stage runs only when every job of the
 * stages before it succeeded; a job's `parallel: matrix` entries run at once, each with its
 * variables, and the File variables of the GitLab environment it names (`environments`).
 */
export async function runGitlabWaves(
  pipeline: Record<string, unknown>,
  options: {
    readonly workspace: string;
    readonly env: Record<string, string>;
    readonly environments: Record<string, Record<string, string>>;
  },
): Promise<Map<string, JobRun[] | "skipped">> {
  const outcome = new Map<string, JobRun[] | "skipped">();
  let failed = false;
  for (const stage of pipeline.stages as string[]) {
    for (const [name, raw] of Object.entries(pipeline)) {
      const spec = gitlabJob(pipeline, name, raw);
      if (!spec || spec.stage !== stage) continue;
      if (failed) {
        outcome.set(name, "skipped");
        continue;
      }
      const entries = (spec.parallel?.matrix ?? [{}]).flatMap((each) =>
        matrixEntries(
          Object.fromEntries(Object.entries(each).map(([key, value]) => [key, [value].flat()])),
        )
      );
      const runs = await Promise.all(entries.map((variables) => {
        const environment = (spec.environment?.name ?? "").replace(
          /\$([A-Z_]+)/g,
          (_, key) => variables[key] ?? spec.variables?.[key] ?? "",
        );
        if (environment && !(environment in options.environments)) {
          throw new Error(`job ${name}: no environment ${environment}`);
        }
        return runGitlabJob(pipeline, name, {
          workspace: options.workspace,
          env: { ...options.env, ...options.environments[environment] },
          variables,
        }).then((run) => ({ ...run, job: `${name} (${environment})` }));
      }));
      outcome.set(name, runs);
      if (runs.some((run) => run.code !== 0)) failed = true;
    }
  }
  return outcome;
}

/** A GitLab job with its `extends` template merged in; undefined for a key that is no job. */
function gitlabJob(pipeline: Record<string, unknown>, name: string, raw: unknown) {
  const reserved = ["stages", "variables", "default", "include", "workflow"];
  if (name.startsWith(".") || reserved.includes(name) || typeof raw !== "object") return undefined;
  const job = raw as GitlabJob;
  const template: Partial<GitlabJob> = job.extends ? pipeline[job.extends] as GitlabJob : {};
  return {
    ...template,
    ...job,
    variables: { ...template.variables, ...job.variables },
  } as GitlabJob;
}

/** A GitLab CI job, as far as the runner stand-in reads it. */
interface GitlabJob {
  readonly extends?: string;
  readonly stage?: string;
  readonly variables?: Record<string, string>;
  readonly environment?: { readonly name: string };
  readonly parallel?: { readonly matrix: Record<string, string | string[]>[] };
  readonly before_script?: string[];
  readonly script: string[];
  readonly after_script?: string[];
}

/** Every combination of a matrix's values (one map of name → value per entry). */
function matrixEntries(matrix: Record<string, string[]>): Record<string, string>[] {
  return Object.entries(matrix).reduce<Record<string, string>[]>(
    (entries, [key, values]) =>
      entries.flatMap((entry) => values.map((value) => ({ ...entry, [key]: value }))),
    [{}],
  );
}

/** Maps `items` through `fn`, at most `limit` at a time, results in order. */
async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += limit) {
    results.push(...await Promise.all(items.slice(start, start + limit).map(fn)));
  }
  return results;
}

/** Runs a GitLab CI job of `pipeline` (its or the default `before_script`, then `script`). */
export async function runGitlabJob(
  pipeline: Record<string, unknown>,
  job: string,
  options: {
    readonly workspace: string;
    readonly env: Record<string, string>;
    /** A `parallel: matrix` entry's variables. */
    readonly variables?: Record<string, string>;
  },
): Promise<JobRun> {
  const defaults = pipeline.default as { before_script: string[] } | undefined;
  const spec = gitlabJob(pipeline, job, pipeline[job])!;
  const variables = pipeline.variables as Record<string, string>;
  const env: Record<string, string> = {
    ...options.env,
    ...variables,
    ...spec.variables,
    ...options.variables,
    CI: "true",
    CI_PROJECT_DIR: options.workspace,
    CI_JOB_URL: `https://gitlab.example/example/plans/-/jobs/${job}`,
    PATH: [dirname(Deno.execPath()), options.env.PATH ?? Deno.env.get("PATH") ?? ""].join(":"),
  };
  const before = (spec.before_script ?? defaults?.before_script ?? []).filter((line) =>
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
  const link = join(workspace, "ca-rotator");
  const target = repo.replace(/\/$/, "");
  if (await Deno.readLink(link).catch(() => undefined) === target) return;
  await Deno.remove(link).catch(() => {});
  await Deno.symlink(target, link).catch((error) => {
    // A job running beside this one linked it first.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  });
}

function expand(
  value: string,
  scope: { readonly secrets: Record<string, string>; readonly matrix?: Record<string, string> },
): string {
  return value
    .replace(/\$\{\{\s*secrets\.([A-Z_]+)\s*\}\}/g, (_, name) => {
      if (!(name in scope.secrets)) throw new Error(`no secret ${name}`);
      return scope.secrets[name];
    })
    .replace(/\$\{\{\s*matrix\.([a-z-]+)\s*\}\}/g, (_, name) => {
      if (!(name in (scope.matrix ?? {}))) throw new Error(`no matrix value ${name}`);
      return scope.matrix![name];
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
