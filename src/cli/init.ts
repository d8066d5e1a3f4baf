/**
 * `init`: writes a plan for the cluster the kubeconfig points at, to `--out` (never over an
 * existing file without `--force`) or stdout; what it found goes to stderr. It only builds the
 * options: the work is src/app/init_plan.ts's.
 * @module
 */
import { dirname, resolve } from "node:path";
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { initPlan } from "../app/init_plan.ts";
import type { InitSettings } from "../app/plan_from_cluster.ts";
import { writeStdout } from "./output_document.ts";

/** The flags of `init`: the plan's settings (src/app/plan_from_cluster.ts), and where to write. */
export interface InitFlags
  extends Omit<InitSettings, "name" | "workersFromCluster" | "staticPodsSection"> {
  readonly out?: string;
  readonly force: boolean;
  readonly name?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs `init` and returns its exit code. */
export async function initCommand(flags: InitFlags, printer: Printer): Promise<number> {
  if (flags.out !== undefined && !flags.force && await exists(flags.out)) {
    throw new InputError(`${flags.out} exists: give --force to overwrite it, or another --out`);
  }
  if (flags.out !== undefined && !await exists(dirname(resolve(flags.out)))) {
    throw new InputError(`--out ${flags.out}: the directory ${dirname(flags.out)} does not exist`);
  }
  const result = await initPlan({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    // field by field: commander's options object may carry more than the flags
    settings: {
      name: flags.name,
      driver: flags.driver,
      user: flags.user,
      identityFile: flags.identityFile,
      knownHostsFile: flags.knownHostsFile,
      sudo: flags.sudo,
      nodeRoots: flags.nodeRoots === undefined ? undefined : resolve(flags.nodeRoots),
      addressType: flags.addressType,
    },
  });
  for (const finding of result.findings) printer.info(finding);
  if (flags.out === undefined) {
    writeStdout(result.text);
    return ExitCode.Ok;
  }
  await Deno.writeTextFile(flags.out, result.text);
  printer.info(
    `wrote plan "${result.name}" to ${flags.out}; review its "init:" comments, then: ` +
      `ca-rotator validate --plan ${flags.out} && ca-rotator rotate --plan ${flags.out} --dry-run`,
  );
  return ExitCode.Ok;
}
