/**
 * What the supervisor of a test cluster has started — haproxy, kwok, a static-pod runner per
 * control-plane node, the kubelets, the pods' processes — and its record of them in
 * state.json (status and pids), which every part of the supervisor shares.
 * @module
 */
import { join } from "node:path";
import { adminKubeconfig, type ClusterLayout } from "./layout.ts";
import { ManagedProcess, type ProcessSpec, runCommand } from "./managed_process.ts";
import type { PodProcesses } from "./pod_processes.ts";
import { type ClusterState, writeState } from "./state.ts";
import type { StaticPodRunner } from "./static_pod_runner.ts";
import type { KubeletProcess } from "./supervisor_kubelets.ts";

/** The supervisor's log: one line on stdout, prefixed with the time of day. */
export const log = (line: string) =>
  console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);

/** One supervisor's cluster: what it started and its state.json. */
export class Supervision {
  /** The cluster's state directory. */
  readonly stateDir: string;
  /** The planned layout (nodes, addresses, roots). */
  readonly layout: ClusterLayout;
  /** Directory of the built binaries (kubectl, kubeadm, …). */
  readonly binDir: string;
  /** The static-pod runners, in the order of `layout.controlPlane`. */
  readonly runners: StaticPodRunner[] = [];
  /** The kubelets (one kubelet-client process per node). */
  readonly kubelets: KubeletProcess[] = [];
  /** Other processes by name (`haproxy`, `kwok`). */
  readonly processes: Map<string, ManagedProcess> = new Map();
  /** The processes of labelled kwok pods (pod_processes.ts), once started. */
  podProcesses?: PodProcesses;
  /** Set once the shutdown has begun. */
  shuttingDown?: Promise<void>;
  #state: ClusterState;
  #saving = Promise.resolve();

  /** Starts supervising the cluster of `state` (nothing is started yet). */
  constructor(stateDir: string, state: ClusterState) {
    this.stateDir = stateDir;
    this.#state = state;
    this.layout = state.layout;
    this.binDir = state.binDir;
  }

  /** The state as last saved. */
  get state(): ClusterState {
    return this.#state;
  }

  /**
   * Saves state.json with `patch` and the pids of everything running; saves happen in order,
   * and a failed one is logged.
   */
  save(patch: Partial<ClusterState> = {}): Promise<void> {
    this.#state = { ...this.#state, ...patch, pids: this.#collectPids() };
    const snapshot = this.#state;
    this.#saving = this.#saving.then(() => writeState(this.stateDir, snapshot)).catch((e) =>
      log(`cannot write state: ${e}`)
    );
    return this.#saving;
  }

  /** Starts a process under `name`; its exit is logged unless the shutdown stopped it. */
  spawn(name: string, spec: ProcessSpec): ManagedProcess {
    const proc = ManagedProcess.spawn(spec);
    this.processes.set(name, proc);
    proc.exited.then((status) => {
      if (this.shuttingDown === undefined) {
        log(`${name} (pid ${proc.pid}) exited unexpectedly with code ${status.code}`);
      }
    });
    return proc;
  }

  /** Runs kubectl with the admin kubeconfig; resolves with its output. */
  kubectl(args: string[], stdin?: string): Promise<string> {
    return runCommand(
      [join(this.binDir, "kubectl"), `--kubeconfig=${adminKubeconfig(this.layout)}`, ...args],
      { stdin },
    );
  }

  #collectPids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const [name, p] of this.processes) if (!p.done) pids[name] = p.pid;
    for (const [i, r] of this.runners.entries()) {
      for (const [c, pid] of Object.entries(r.pids())) {
        pids[`${this.layout.controlPlane[i].name}/${c}`] = pid;
      }
    }
    for (const [pod, pid] of Object.entries(this.podProcesses?.pids() ?? {})) {
      pids[`pod/${pod}`] = pid;
    }
    return pids;
  }
}
