/**
 * The wait between two etcd member restarts: every member of the control plane healthy, each
 * with a leader and answering a read that needs a quorum, so the next restart never takes a
 * second member out of a cluster that is still short of one.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { probeUrl, waitHealthy } from "./_component_health.ts";

/** The etcd component's name, as static pods and plans spell it. */
export const ETCD = "etcd";

/**
 * The URL of a member's `/health` on the port of its manifest's probe (kubeadm: the plain-HTTP
 * metrics listener, 2381): etcd answers 200 only when the member has a leader and a
 * linearizable read through it succeeds (quorum), 503 otherwise. Undefined without an HTTP probe.
 */
export function etcdHealthUrl(manifest: string): string | undefined {
  const url = probeUrl(manifest);
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}/health`;
}

/**
 * Waits until the etcd member of every node (its manifest at `path`) answers `/health` with 200:
 * full membership (every control-plane node's member up), a leader, and a quorum.
 */
export async function waitEtcdQuorum(
  ctx: StepContext,
  nodes: readonly NodeAccess[],
  path: string,
  timeoutMs: number,
): Promise<void> {
  for (const node of nodes) {
    const manifest = await node.readFile(path);
    if (manifest === undefined) throw new Error(`${node.name}: ${path} is missing`);
    const url = etcdHealthUrl(manifest);
    if (url === undefined) {
      throw new Error(`${node.name}: ${path} has no HTTP probe: cannot check the member's health`);
    }
    await waitHealthy(ctx, node, `${ETCD} (leader and quorum)`, url, timeoutMs);
  }
  if (!ctx.dryRun) {
    ctx.log.info(`etcd: ${nodes.length} of ${nodes.length} members healthy, with a leader`);
  }
}
