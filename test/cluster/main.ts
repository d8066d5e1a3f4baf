/**
 * `deno task cluster …`: a real kubeadm-shaped Kubernetes control plane for the tests and the
 * demo. Dispatch only; see cluster.ts.
 *
 *   deno task cluster setup                       install haproxy if missing, build binaries
 *   deno task cluster up [--api-servers 1|3] [--nodes N] [--ssh]
 *   eval "$(deno task cluster env)"               KUBECONFIG, PATH, NODE_ROOTS, WORKER_ROOTS …
 *   deno task cluster status                      state.json of the running cluster
 *   deno task cluster down                        stop everything, remove the node roots
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { down, envLines, setup, up } from "./cluster.ts";
import { DEFAULT_STATE_DIR } from "./layout.ts";
import { readState } from "./state.ts";
import { supervise } from "./supervisor.ts";

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}

/** Builds the `cluster` command line. */
export function clusterProgram(): Command {
  const program = new Command("cluster")
    .description(
      "A real Kubernetes control plane (kubeadm, haproxy, kwok) under temporary node roots",
    )
    .showHelpAfterError();

  program.command("setup")
    .description(
      "install haproxy if missing and build the binaries (cached); prints the bin directory",
    )
    .action(async () => {
      console.log(await setup());
    });

  program.command("up")
    .description("start a cluster and print its kubeconfig path")
    .option("--api-servers <n>", "control-plane nodes (API servers behind haproxy)", int, 3)
    .option("--nodes <n>", "kwok worker nodes, each with a kubelet (kubelet-client)", int, 3)
    .option("--state-dir <dir>", "state directory (removed by down)", DEFAULT_STATE_DIR)
    .option(
      "--subnet <198.18.n|auto>",
      "node addresses 198.18.n.1..k, haproxy .100, kwok .200, in network namespace ca-rotator-n (auto: a free n)",
      "198.18.1",
    )
    .option(
      "--kubelet-cert-lifetime <seconds>",
      "lifetime of the first kubelet client certificates",
      int,
      300,
    )
    .option(
      "--first-rotation-after <seconds>",
      "earliest first kubelet rotation after start",
      int,
      30,
    )
    .option(
      "--signing-duration <duration>",
      "kube-controller-manager --cluster-signing-duration",
      "10m",
    )
    .option(
      "--ssh",
      "every node reachable over ssh on its address (user, key, known_hosts: `cluster env`)",
    )
    .option("--keep-on-failure", "leave a cluster that failed to start running, for inspection")
    .action(async (o) => {
      const result = await up({
        apiServers: o.apiServers,
        nodes: o.nodes,
        stateDir: o.stateDir,
        subnet: o.subnet,
        kubeletCertLifetimeSeconds: o.kubeletCertLifetime,
        firstRotationAfterSeconds: o.firstRotationAfter,
        signingDuration: o.signingDuration,
        keepOnFailure: o.keepOnFailure,
        ssh: o.ssh ?? false,
      });
      console.log(result.state.kubeconfig);
    });

  program.command("down")
    .description("stop everything the cluster started and remove its directories")
    .option("--state-dir <dir>", "state directory", DEFAULT_STATE_DIR)
    .action(async (o) => {
      await down({ stateDir: o.stateDir });
    });

  program.command("env")
    .description("print shell export lines (KUBECONFIG, PATH, NODE_ROOTS, WORKER_ROOTS, …)")
    .option("--state-dir <dir>", "state directory", DEFAULT_STATE_DIR)
    .action(async (o) => {
      const state = await readState(o.stateDir);
      if (!state) {
        throw new Error(`No cluster in ${o.stateDir}; run \`deno task cluster up\` first`);
      }
      console.log(envLines(state).join("\n"));
    });

  program.command("status")
    .description("print state.json of the cluster")
    .option("--state-dir <dir>", "state directory", DEFAULT_STATE_DIR)
    .action(async (o) => {
      const state = await readState(o.stateDir);
      if (!state) throw new Error(`No cluster in ${o.stateDir}`);
      console.log(JSON.stringify(state, null, 2));
    });

  program.command("supervise", { hidden: true })
    .description("(internal) the detached supervisor started by up")
    .requiredOption("--state-dir <dir>", "state directory")
    .requiredOption("--haproxy <path>", "haproxy binary")
    .action(async (o) => {
      await supervise(o.stateDir, o.haproxy);
    });

  return program as unknown as Command;
}

if (import.meta.main) {
  try {
    await clusterProgram().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    console.error(`cluster: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
