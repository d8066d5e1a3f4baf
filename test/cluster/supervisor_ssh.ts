/**
 * The supervisor's sshd per node (`cluster up --ssh`): each in a mount namespace of its own
 * (node_ssh.ts), listening on the node's address; up once every one accepts connections.
 * @module
 */
import { join } from "node:path";
import { nodeSshDir, SSH_PORT, sshdArgv, sshNodes } from "./node_ssh.ts";
import { log, type Supervision } from "./supervision.ts";

/** The name of a node's sshd among the supervisor's processes (and in state.json's pids). */
export function sshdProcessName(node: string): string {
  return `${node}/sshd`;
}

/** Starts every node's sshd and waits (up to 30 s) until each accepts connections. */
export async function startSshServers(s: Supervision): Promise<void> {
  const nodes = sshNodes(s.layout);
  for (const node of nodes) {
    const proc = s.spawn(sshdProcessName(node.name), {
      argv: sshdArgv(s.stateDir, node),
      logFile: join(nodeSshDir(s.stateDir, node.name), "sshd.log"),
    });
    log(`[ssh] ${node.name}: sshd on ${node.ip}:${SSH_PORT} (pid ${proc.pid})`);
  }
  await s.save();
  const deadline = Date.now() + 30_000;
  for (const node of nodes) {
    while (true) {
      try {
        (await Deno.connect({ hostname: node.ip, port: SSH_PORT })).close();
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `sshd of ${node.name} does not accept connections on ${node.ip}:${SSH_PORT}: ${error}; ` +
              `see ${join(nodeSshDir(s.stateDir, node.name), "sshd.log")}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}
