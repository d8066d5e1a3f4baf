/**
 * A kubelet restarted and back: the layout's restart command run on a node, and the check that
 * the kubelet came back (the node Ready, its Lease renewed since the restart).
 * @module
 */
import type { KubeObject } from "../engine/cluster_api.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import type { StepContext } from "../engine/step.ts";
import type { Layout } from "../plan/layout.ts";

interface NodeObject extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

interface LeaseObject extends KubeObject {
  spec?: { renewTime?: string };
}

/**
 * True when the node is Ready and its kubelet has renewed the node's Lease since `since` (a
 * restarted kubelet that did not come back stops renewing long before the node turns NotReady).
 * A node without a Node object or Lease counts as Ready: nothing registers it.
 */
export async function kubeletBack(ctx: StepContext, name: string, since: number): Promise<boolean> {
  const node = await ctx.cluster.read<NodeObject>({ apiVersion: "v1", kind: "Node", name });
  if (!node) return true;
  const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  if (!ready) return false;
  const lease = await ctx.cluster.read<LeaseObject>({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "kube-node-lease",
    name,
  });
  const renewed = new Date(lease?.spec?.renewTime ?? 0).getTime();
  return !lease || renewed >= since;
}

/** Runs the layout's kubelet restart command on `node`; throws naming the node when it fails. */
export async function restartKubelet(node: NodeAccess, layout: Layout): Promise<void> {
  const result = await node.run(layout.kubeletRestart);
  if (result.code !== 0) {
    throw new Error(
      `${node.name}: kubelet restart (${layout.kubeletRestart.join(" ")}) exited ` +
        `${result.code}: ${result.stderr.trim()}`,
    );
  }
}
