/**
 * `deno task demo`: brings up the local control plane (three API servers behind haproxy, kwok
 * workers with emulated kubelets, a few workloads), shows the dry run of plans/local-demo.yaml,
 * runs the rotation phase by phase as three commits moving `stopAfter` would, reports the
 * kubelets and the recorded progress, and tears everything down.
 * @module
 */
import { join } from "node:path";
import { startCluster, type TestCluster } from "./cluster/harness.ts";
import { deployTeamWorkloads, TEAM_NAMESPACES } from "./rotation/fixtures.ts";

const repo = new URL("../", import.meta.url).pathname;

function banner(text: string): void {
  console.log(`\n=== ${text}`);
}

/** Runs ca-rotator with the cluster's environment; output goes to the terminal. */
async function caRotator(cluster: TestCluster, args: string[], stdout?: string): Promise<number> {
  console.log(`$ deno task ${args[0]} ${args.slice(1).join(" ")}`);
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "main.ts"), ...args],
    cwd: repo,
    env: cluster.env,
    stdout: stdout ? "piped" : "inherit",
    stderr: "inherit",
  });
  const output = await command.output();
  if (stdout) await Deno.writeFile(stdout, output.stdout);
  return output.code;
}

async function main(): Promise<number> {
  banner("starting the local control plane (3 API servers, 3 kwok workers)");
  const cluster = await startCluster({ apiServers: 3, nodes: 3 });
  try {
    console.log(`cluster ready in ${(cluster.upMs / 1000).toFixed(1)}s: ${cluster.endpoint}`);
    await deployTeamWorkloads(cluster);
    console.log(`20 Deployments and 3 DaemonSets available in ${TEAM_NAMESPACES.join(", ")}`);

    const workDir = await Deno.makeTempDir({ prefix: "ca-rotator-demo-" });
    const plan = join(workDir, "local-demo.yaml");
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    const withStop = (phase: string) => source.replace(/^stopAfter: .*$/m, `stopAfter: ${phase}`);

    banner("dry run of the whole plan (nothing is changed)");
    await Deno.writeTextFile(plan, withStop("trust"));
    const diffFile = join(workDir, "dry-run.diff");
    if (await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run"], diffFile) !== 0) return 1;
    const diff = await Deno.readTextFile(diffFile);
    const headers = diff.split("\n").filter((line) => line.startsWith("["));
    console.log(headers.slice(0, 40).join("\n"));
    if (headers.length > 40) console.log(`… ${headers.length - 40} more changes`);
    console.log(diff.trimEnd().split("\n").at(-1));
    console.log(`(the full diff, keys masked: ${diffFile})`);

    for (const phase of ["trust", "switch", "finalize"]) {
      banner(`stopAfter: ${phase}`);
      await Deno.writeTextFile(plan, withStop(phase));
      const code = await caRotator(cluster, ["rotate", "--plan", plan]);
      if (code !== 0) {
        console.error(`rotate stopped with exit code ${code} in phase ${phase}`);
        return code;
      }
    }

    banner("kubelet client certificates");
    await caRotator(cluster, ["verify-kubelets", "--plan", plan]);
    banner("progress recorded in the cluster");
    await caRotator(cluster, ["status", "--plan", plan]);
    banner("a second run has nothing to do");
    return await caRotator(cluster, ["rotate", "--plan", plan, "--dry-run"]);
  } finally {
    banner("tearing down");
    await cluster.stop();
  }
}

if (import.meta.main) Deno.exit(await main());
