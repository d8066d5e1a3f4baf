/**
 * Who holds the run lock: host, process id and, in a CI pipeline, the run's URL — enough for an
 * operator to find the holder, and for a run on the same host to see that the holder is gone.
 * @module
 */
import { hostname } from "node:os";

/** A run of ca-rotator. */
export interface RunHolder {
  readonly host: string;
  readonly pid: number;
  /** The CI run (GitHub Actions, GitLab CI, Jenkins), when there is one. */
  readonly runUrl?: string;
}

/** This process, with the CI run's URL read from `env`. */
export function currentHolder(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): RunHolder {
  return { host: hostname(), pid: Deno.pid, runUrl: ciRunUrl(env) };
}

/** The URL of the CI run `env` describes, if any. */
export function ciRunUrl(env: Record<string, string | undefined>): string | undefined {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    return `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
  }
  return env.CI_JOB_URL || env.BUILD_URL || undefined;
}

/** The Lease's `holderIdentity`: `host/pid`, then the run's URL after a space. */
export function holderIdentity(holder: RunHolder): string {
  return `${holder.host}/${holder.pid}${holder.runUrl ? ` ${holder.runUrl}` : ""}`;
}

/** The holder an identity names, or `undefined` for one another tool wrote. */
export function parseHolderIdentity(identity: string): RunHolder | undefined {
  const match = /^([^/\s]+)\/(\d+)(?: (\S+))?$/.exec(identity);
  if (!match) return undefined;
  return { host: match[1], pid: Number(match[2]), runUrl: match[3] };
}

/** Whether `pid` is a live process on this host (Linux: /proc; elsewhere assumed alive). */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
