/**
 * Test helpers for a cluster started with `ssh: true`: a node's sshd stopped and started again,
 * and commands run inside a node's mount namespace (where its sshd runs), so that a test can
 * break what the ssh driver depends on and put it back.
 * @module
 */
import { join } from "node:path";
import type { TestCluster } from "./harness.ts";
import { ManagedProcess, runCommand } from "./managed_process.ts";
import { hostKeyFile, nodeSshDir, SSH_PORT, sshdArgv, sshNodes } from "./node_ssh.ts";
import { readState } from "./state.ts";
import { sshdProcessName } from "./supervisor_ssh.ts";

/** The sshd processes a test started in place of the supervisor's, by node. */
const restarted = new Map<string, ManagedProcess>();

/** The pid of a node's sshd (the supervisor's, or the one a test started). */
export async function sshdPid(cluster: TestCluster, node: string): Promise<number> {
  const own = restarted.get(`${cluster.env.CLUSTER_STATE_DIR}/${node}`);
  if (own && !own.done) return own.pid;
  const state = await readState(cluster.env.CLUSTER_STATE_DIR);
  const pid = state?.pids[sshdProcessName(node)];
  if (!pid) throw new Error(`No sshd of ${node} in state.json`);
  return pid;
}

/** Runs a shell script inside a node's mount namespace (as root); returns its output. */
export async function inNodeNamespace(
  cluster: TestCluster,
  node: string,
  script: string,
): Promise<string> {
  const pid = await sshdPid(cluster, node);
  return await runCommand(["nsenter", "-t", String(pid), "-m", "--", "sh", "-c", script]);
}

function nodeSpec(cluster: TestCluster, node: string) {
  const spec = sshNodes(cluster.layout).find((each) => each.name === node);
  if (!spec) throw new Error(`No node ${node}`);
  return spec;
}

async function accepts(ip: string): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: ip, port: SSH_PORT })).close();
    return true;
  } catch {
    return false;
  }
}

/** Stops a node's sshd (SIGTERM) and waits until its port refuses connections. */
export async function stopSshd(cluster: TestCluster, node: string): Promise<void> {
  const key = `${cluster.env.CLUSTER_STATE_DIR}/${node}`;
  const own = restarted.get(key);
  if (own && !own.done) {
    await own.stop(5_000);
  } else {
    Deno.kill(await sshdPid(cluster, node), "SIGTERM");
  }
  const { ip } = nodeSpec(cluster, node);
  const deadline = Date.now() + 10_000;
  while (await accepts(ip)) {
    if (Date.now() > deadline) throw new Error(`sshd of ${node} still accepts connections`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts a node's sshd again as the supervisor does (in the cluster's network namespace, a new
 * mount namespace); `cluster.stop()` ends it with everything else in the network namespace.
 */
export async function startSshd(cluster: TestCluster, node: string): Promise<void> {
  const stateDir = cluster.env.CLUSTER_STATE_DIR;
  const spec = nodeSpec(cluster, node);
  const netns = cluster.state.network!.netns;
  const proc = ManagedProcess.spawn({
    argv: ["ip", "netns", "exec", netns, ...sshdArgv(stateDir, spec)],
    logFile: join(nodeSshDir(stateDir, node), "sshd.log"),
  });
  restarted.set(`${stateDir}/${node}`, proc);
  const deadline = Date.now() + 10_000;
  while (!(await accepts(spec.ip))) {
    if (proc.done || Date.now() > deadline) {
      throw new Error(`sshd of ${node} did not start again; see its sshd.log`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Gives a node a new host key (its sshd restarted with it); returns a function that puts the old one back. */
export async function replaceHostKey(
  cluster: TestCluster,
  node: string,
): Promise<() => Promise<void>> {
  const file = hostKeyFile(cluster.env.CLUSTER_STATE_DIR, node);
  const saved = [await Deno.readFile(file), await Deno.readFile(`${file}.pub`)] as const;
  await stopSshd(cluster, node);
  await Deno.remove(file);
  await Deno.remove(`${file}.pub`);
  await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "another", "-f", file]);
  await startSshd(cluster, node);
  return async () => {
    await stopSshd(cluster, node);
    await Deno.writeFile(file, saved[0], { mode: 0o600 });
    await Deno.writeFile(`${file}.pub`, saved[1]);
    await startSshd(cluster, node);
  };
}
