/**
 * state.json of a running test cluster: what `up` planned and what the supervisor started,
 * so that `env` can print it and `down` can stop exactly those processes.
 * @module
 */
import { join } from "node:path";
import type { ClusterLayout } from "./layout.ts";
import type { ClusterNetwork } from "./netns.ts";

/** Lifecycle of the cluster as recorded in state.json. */
export type ClusterStatus = "creating" | "starting" | "ready" | "failed" | "stopping";

/** Contents of `<stateDir>/state.json`. */
export interface ClusterState {
  /** Lifecycle status. */
  status: ClusterStatus;
  /** Why `status` is `failed`. */
  error?: string;
  /** The planned layout (nodes, addresses, roots). */
  layout: ClusterLayout;
  /** Directory of the built binaries (kubectl, kubeadm, …). */
  binDir: string;
  /**
   * The network namespace and veth pair `up` created for the node addresses (`down` removes
   * them); absent until they exist.
   */
  network?: ClusterNetwork;
  /** The admin kubeconfig (through haproxy). */
  kubeconfig: string;
  /** Pid of the detached supervisor; also the process group of everything it started. */
  supervisorPid?: number;
  /** Pids the supervisor started, by name (`haproxy`, `kwok`, `control-plane-1/etcd`, …). */
  pids: Record<string, number>;
  /** ISO time `up` began. */
  createdAt: string;
  /** ISO time the cluster became ready. */
  readyAt?: string;
}

/** Path of state.json inside a state directory. */
export function statePath(stateDir: string): string {
  return join(stateDir, "state.json");
}

/** Reads state.json; `undefined` when there is none. */
export async function readState(stateDir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(statePath(stateDir))) as ClusterState;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${statePath(stateDir)}: ${(error as Error).message}`);
  }
}

/** Writes state.json atomically (write to a temporary file, then rename). */
export async function writeState(stateDir: string, state: ClusterState): Promise<void> {
  await writeJsonAtomic(statePath(stateDir), state);
}

/** Writes JSON to a file atomically so that readers never see a partial file. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/** Whether a process with this pid exists (and is not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Pids of the live processes whose process group is `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // fields: state ppid pgrp …
      if (Number(fields[2]) === pgid && fields[0] !== "Z") members.push(Number(entry.name));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/** The command line of a process, or `undefined` when it has gone. */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
}

/** Whether a command line refers to the cluster in `stateDir` (a path in it, or the dir itself). */
export function refersTo(args: string[], stateDir: string): boolean {
  return args.some((a) =>
    a === stateDir || a.endsWith(`=${stateDir}`) || a.includes(`${stateDir}/`)
  );
}

/** Whether `pid` is the live supervisor of the cluster in `stateDir` (not a reused pid). */
export function isSupervisor(pid: number, stateDir: string): boolean {
  const args = processCommandLine(pid);
  return !!args && processAlive(pid) && args.includes("supervise") && refersTo(args, stateDir);
}

/**
 * Live processes of the cluster in `stateDir`: members of the supervisor's process group whose
 * command line refers to the state directory (so a reused pid is never taken for one).
 */
export function clusterProcesses(pgid: number, stateDir: string): number[] {
  return processGroupMembers(pgid).filter((pid) => {
    const args = processCommandLine(pid);
    return !!args && refersTo(args, stateDir);
  });
}

/** The start time of a process (clock ticks since boot), or `undefined` when it has gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
