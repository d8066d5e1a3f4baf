/**
 * The wait between two etcd member restarts: every member of the control plane healthy, each
 * with a leader and answering a read that needs a quorum, so the next restart never takes a
 * second member out of a cluster that is still short of one.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { probeUrl, waitHealthy } from "./_component_health.ts";
import { errorText } from "./_watch_object.ts";

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

/**
 * A POST to the member's own client port, run on its node with the node's healthcheck-client
 * certificate (kubeadm's `etcd/healthcheck-client.*`, kept issued by the CA the members trust):
 * `$NODE_ROOT` prefixes the paths where the local driver sets it. The server is not verified:
 * the request goes to the node's own loopback address, as the kubelet's probes do.
 */
function memberRequest(pkiDir: string, url: string, body: unknown): string[] {
  return [
    "sh",
    "-c",
    'curl -sk --max-time 5 --cert "${NODE_ROOT:-}$1/etcd/healthcheck-client.crt" ' +
    '--key "${NODE_ROOT:-}$1/etcd/healthcheck-client.key" -X POST -d "$3" "$2"',
    "sh",
    pkiDir,
    url,
    JSON.stringify(body),
  ];
}

/**
 * Pure: the member to hand leadership to (another voting member), or undefined. Members whose
 * ids are in `prefer` (those already restarted in this pass, so that the leadership moves once
 * per pass and not onto a member about to restart) come first.
 */
export function transferTarget(
  status: { header?: { member_id?: string }; leader?: string },
  members: readonly { ID?: string; isLearner?: boolean }[],
  prefer: readonly string[] = [],
): string | undefined {
  const self = status.header?.member_id;
  if (self === undefined || status.leader !== self) return undefined;
  const voters = members.filter((member) =>
    member.ID !== undefined && member.ID !== self && !member.isLearner
  );
  return (voters.find((member) => prefer.includes(member.ID!)) ?? voters[0])?.ID;
}

/** A POST to the node's own member (`path` on its client port); the parsed JSON answer. */
async function askMember(
  node: NodeAccess,
  pkiDir: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const url = `https://127.0.0.1:2379${path}`;
  const result = await node.run(memberRequest(pkiDir, node.reachableUrl?.(url) ?? url, body));
  if (result.code !== 0) throw new Error(`curl exit ${result.code}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout || "{}");
}

/** A member's own id and the leader it knows (`/v3/maintenance/status`). */
export async function memberStatus(
  node: NodeAccess,
  pkiDir: string,
): Promise<{ header?: { member_id?: string }; leader?: string }> {
  return await askMember(node, pkiDir, "/v3/maintenance/status", {});
}

/**
 * Pure: `names` reordered so that the node whose member leads comes last (the others in their
 * order): the followers restart first, and the leadership moves once, onto a member that has
 * already restarted, instead of once per restarted leader.
 */
export function leaderLast(
  names: readonly string[],
  statuses: ReadonlyMap<string, { header?: { member_id?: string }; leader?: string }>,
): string[] {
  const leads = (name: string) => {
    const status = statuses.get(name);
    return status?.header?.member_id !== undefined && status.leader === status.header.member_id;
  };
  return [...names.filter((name) => !leads(name)), ...names.filter(leads)];
}

/**
 * `names` in the order their members restart: the node whose member leads now last (asked of
 * every member; best effort, the given order when none answers).
 */
export async function leaderLastOrder(
  ctx: StepContext,
  nodes: readonly NodeAccess[],
  names: readonly string[],
): Promise<string[]> {
  return leaderLast(names, await memberStatuses(ctx, nodes, ctx.layout.pkiDir));
}

/** The nodes' member statuses, those that answer (best effort: a silent member is left out). */
async function memberStatuses(
  ctx: StepContext,
  nodes: readonly NodeAccess[],
  pkiDir: string,
): Promise<Map<string, { header?: { member_id?: string }; leader?: string }>> {
  const statuses = new Map<string, { header?: { member_id?: string }; leader?: string }>();
  if (ctx.dryRun) return statuses;
  for (const node of nodes) {
    try {
      statuses.set(node.name, await memberStatus(node, pkiDir));
    } catch (error) {
      ctx.log.warn(`${node.name}/etcd: no status (${errorText(error)})`);
    }
  }
  return statuses;
}

/**
 * Before a member restarts: when it leads, hands the leadership to another member (etcd's
 * MoveLeader), preferably one of `restarted` (member ids), so that writes do not wait out an
 * election while it is down. Best effort: a failure is a warning, and the restart goes on (the
 * quorum wait still holds the next step). Returns the member's own id when it answered.
 */
export async function handOffLeadership(
  ctx: StepContext,
  node: NodeAccess,
  pkiDir: string,
  restarted: readonly string[] = [],
): Promise<string | undefined> {
  if (ctx.dryRun) return undefined;
  let self: string | undefined;
  try {
    const status = await memberStatus(node, pkiDir);
    self = status.header?.member_id;
    const list = await askMember(node, pkiDir, "/v3/cluster/member/list", {});
    const members = (list.members ?? []) as { ID?: string; isLearner?: boolean }[];
    const target = transferTarget(status, members, restarted);
    if (target === undefined) return self;
    const moved = await askMember(node, pkiDir, "/v3/maintenance/transfer-leadership", {
      targetID: target,
    });
    if (moved.error || moved.code) throw new Error(String(moved.message ?? moved.error));
    ctx.log.info(
      `${node.name}/etcd led: leadership handed to member ${target} before its restart ` +
        `(${new Date().toISOString()})`,
    );
  } catch (error) {
    ctx.log.warn(`${node.name}/etcd: could not hand off the leadership (${errorText(error)})`);
  }
  return self;
}
