/**
 * How the supervisor of a test cluster ends: on SIGTERM (from `cluster down`) or SIGINT it
 * stops everything it started; once its owner process has exited it tears the whole cluster
 * down (directories, veth pair and network namespace too).
 * @module
 */
import { insideNetns, netnsMembers, netnsPath, removeNetworkFromInside } from "./netns.ts";
import { processAlive, processStartTime } from "./state.ts";
import { log, type Supervision } from "./supervision.ts";

/**
 * Stops everything the supervisor started — the pods' processes, the kubelets, kwok,
 * the static-pod runners, then haproxy — and exits. With `removeEverything` it also kills whatever else is
 * left in the cluster's network namespace, removes the namespace and veth pair and deletes the
 * state directory. Calls after the first return the shutdown already under way.
 */
export function shutdown(
  s: Supervision,
  reason: string,
  removeEverything: boolean,
): Promise<void> {
  s.shuttingDown ??= (async () => {
    log(`shutting down: ${reason}`);
    await s.save({ status: "stopping" });
    await s.podProcesses?.stop(5_000);
    await Promise.all(s.kubelets.map((k) => k.stop()));
    await s.processes.get("kwok")?.stop(5_000);
    await Promise.all(s.runners.map((r) => r.stop()));
    await s.processes.get("haproxy")?.stop(5_000);
    if (removeEverything) {
      await removeCluster(s);
    } else {
      await s.save({ status: "stopping" });
    }
    log("all processes stopped");
    Deno.exit(0);
  })();
  return s.shuttingDown;
}

/** Shuts down (keeping the cluster's files) on SIGTERM and SIGINT. */
export function shutdownOnSignals(s: Supervision): void {
  Deno.addSignalListener("SIGTERM", () => shutdown(s, "SIGTERM", false));
  Deno.addSignalListener("SIGINT", () => shutdown(s, "SIGINT", false));
}

/** Removes the whole cluster once the owner process (if the layout names one) has exited. */
export function shutdownWhenOwnerExits(s: Supervision): void {
  const owner = s.layout.options.ownerPid;
  if (!owner) return;
  const started = processStartTime(owner);
  setInterval(() => {
    // Gone, or its pid now belongs to another process.
    if (!processAlive(owner) || processStartTime(owner) !== started) {
      shutdown(s, `owner process ${owner} has exited`, true);
    }
  }, 2_000);
}

async function removeCluster(s: Supervision): Promise<void> {
  const network = s.state.network;
  if (network?.netns && insideNetns(network.netns)) {
    // Anything else still in the namespace is the cluster's (nothing else runs there).
    for (const pid of netnsMembers(netnsPath(network.netns))) {
      if (pid === Deno.pid) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await removeNetworkFromInside(network).catch((e) =>
      log(`cannot remove network namespace ${network.netns}: ${e}`)
    );
  }
  await Deno.remove(s.stateDir, { recursive: true }).catch(() => {});
}
