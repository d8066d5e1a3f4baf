/**
 * The detached process that keeps a test cluster running after `cluster up` returns: haproxy,
 * a static-pod runner per control-plane node, kwok, the kubelets (kubelet-client) and the processes of
 * labelled kwok pods. It also runs the kubeadm phases that need a running API (upload-config,
 * bootstrap-token, addon, kubelet-finalize, mark-control-plane), records pids and status in
 * state.json, and on SIGTERM (from `cluster down`) stops everything it started. `up` starts it
 * inside the cluster's network namespace (`ip netns exec`), so everything it starts binds the
 * node addresses there.
 * With an owner pid it tears the whole cluster down (directories, veth pair and network
 * namespace too) once the owner has exited.
 *
 * The parts: supervision.ts (what was started, state.json), supervisor_control_plane.ts,
 * supervisor_kwok.ts, supervisor_kubelets.ts, supervisor_pod_processes.ts,
 * supervisor_shutdown.ts.
 * @module
 */
import { readState } from "./state.ts";
import { log, Supervision } from "./supervision.ts";
import {
  markControlPlane,
  startControlPlanes,
  startHaproxy,
  uploadConfigAndAddons,
  waitForApiThroughHaproxy,
  waitForControlPlaneReady,
} from "./supervisor_control_plane.ts";
import { startKubelets, waitForAllNodesReady } from "./supervisor_kubelets.ts";
import { startKwok } from "./supervisor_kwok.ts";
import { startPodProcesses } from "./supervisor_pod_processes.ts";
import { shutdownOnSignals, shutdownWhenOwnerExits } from "./supervisor_shutdown.ts";
import { startSshServers } from "./supervisor_ssh.ts";

/** Runs the supervisor for the cluster in `stateDir` until SIGTERM (never returns normally). */
export async function supervise(stateDir: string, haproxyPath: string): Promise<void> {
  const initial = await readState(stateDir);
  if (!initial) throw new Error(`Cannot supervise: no state.json in ${stateDir}`);
  const s = new Supervision(stateDir, { ...initial, supervisorPid: Deno.pid, status: "starting" });
  shutdownOnSignals(s);
  shutdownWhenOwnerExits(s);
  try {
    await s.save({ status: "starting" });
    await startHaproxy(s, haproxyPath);
    await startControlPlanes(s);
    await step("waiting for /readyz through haproxy", () => waitForApiThroughHaproxy(s));
    await step(
      "kubeadm init phase upload-config all, bootstrap-token, addon all",
      () => uploadConfigAndAddons(s),
    );
    await step("starting kwok", () => startKwok(s));
    await step("starting the pods' processes", () => startPodProcesses(s));
    await step("starting the kubelets", () => startKubelets(s));
    if (s.layout.options.ssh) {
      await step("starting sshd on every node (--ssh)", () => startSshServers(s));
    }
    await step("kubeadm init phase mark-control-plane", () => markControlPlane(s));
    await step("waiting for all nodes to be Ready", () => waitForAllNodesReady(s));
    await step(
      "waiting for every control-plane component to be ready",
      () => waitForControlPlaneReady(s),
    );
    await s.save({ status: "ready", readyAt: new Date().toISOString() });
    log("[up] cluster ready");
  } catch (error) {
    log(`[up] FAILED: ${(error as Error).stack ?? error}`);
    await s.save({ status: "failed", error: (error as Error).message });
    // Keep running so that `down` (or the owner's exit) can stop what was started.
  }
}

/** Runs one step of `up`, logging its start and how long it took. */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  log(`[up] ${what} …`);
  const result = await fn();
  log(`[up] ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}
