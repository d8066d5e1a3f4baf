/**
 * The run's nodes at the start of each later phase (the runner's `nodesAtPhase`), for a plan
 * with a node group found from the cluster: the groups are resolved again against the Nodes as
 * they are now. A Node that joined is reached and checked as the run's own start checks every
 * node (src/app/node_preflight.ts), then joins the run: the phase's drift re-check brings it to
 * what the done steps made (the same path as a node added to a listed plan before a resumed
 * run), and the phase's steps act on it. A Node gone from the cluster (or no longer matched) is
 * left out from then on; one still there is then uncovered, and the coverage gate names it.
 * What does not resolve, or a joined Node that cannot be reached, holds the run before the
 * phase, named. Runs only when the run changes the cluster (never in a dry run).
 * @module
 */
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import type { ClusterApi } from "../engine/cluster_api.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import type { Printer } from "../engine/printer.ts";
import type { NodesAtPhase } from "../engine/runner.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import type { SshConnections } from "../nodes/ssh_connections.ts";
import type { CaName } from "../plan/ca.ts";
import type { Layout } from "../plan/layout.ts";
import { NODE_GROUPS, type NodeGroup, nodeNames } from "../plan/nodes.ts";
import type { Phase } from "../plan/phase.ts";
import { type PlanNodes, resolvePlanNodes } from "./cluster_nodes.ts";
import { checkPlanNodes } from "./node_preflight.ts";

/** The nodes a run works on, kept up to date at each phase start. */
export interface RunNodes {
  /** The plan's `nodes`, resolved as of the last phase start. */
  nodes: PlanNodes;
  /** The run's node access, by group: changed in place when a Node joins or leaves. */
  readonly controlPlane: NodeAccess[];
  readonly workers: NodeAccess[];
}

/** What the phase-start refresh needs. */
export interface PhaseNodesDeps {
  readonly cluster: ClusterApi;
  /** The plan's `nodes` as written (groups found from the cluster unresolved). */
  readonly planNodes: PlanNodes;
  readonly layout: Layout;
  readonly cas: readonly CaName[];
  readonly connections: SshConnections;
  readonly printer: Printer;
  readonly run: RunNodes;
}

/** Pure: the names that joined and those gone, from one resolution of a group to the next. */
export function nodeChanges(
  before: readonly string[],
  after: readonly string[],
): { joined: string[]; gone: string[] } {
  return {
    joined: after.filter((name) => !before.includes(name)),
    gone: before.filter((name) => !after.includes(name)),
  };
}

/** The runner's `nodesAtPhase` for a run over `deps.run`'s nodes. */
export function phaseNodes(deps: PhaseNodesDeps): (phase: Phase) => Promise<NodesAtPhase> {
  return async (phase) => {
    const holding = (why: string) => ({ hold: `holding before phase "${phase}": ${why}` });
    let resolved: PlanNodes;
    try {
      resolved = await resolvePlanNodes(deps.cluster, deps.planNodes);
    } catch (error) {
      return holding(`${error instanceof Error ? error.message : error}; then run again`);
    }
    const joined: Record<(typeof NODE_GROUPS)[number], NodeAccess[]> = {
      controlPlane: [],
      workers: [],
    };
    const gone: { name: string; group: string }[] = [];
    for (const groupName of NODE_GROUPS) {
      const now = resolved[groupName];
      if (now?.driver !== "ssh" || !now.fromCluster) continue;
      const changes = nodeChanges(deps.run[groupName].map((node) => node.name), nodeNames(now));
      gone.push(...changes.gone.map((name) => ({ name, group: groupName })));
      const hosts = (now.hosts ?? []).filter((host) => changes.joined.includes(host.name));
      const group: NodeGroup = { ...now, hosts };
      joined[groupName] = nodesOf(group, deps.layout, deps.connections);
    }
    const arrived = [...joined.controlPlane, ...joined.workers];
    if (arrived.length > 0) {
      try {
        await mapBounded(
          arrived,
          NODE_PARALLELISM,
          (node) => node.connect?.() ?? Promise.resolve(),
        );
        await checkPlanNodes(deps.cluster, {
          controlPlane: joined.controlPlane,
          workers: joined.workers,
          layout: deps.layout,
          cas: deps.cas,
        });
      } catch (error) {
        const names = arrived.map((node) => node.name).join(", ");
        return holding(
          `the Nodes that joined (${names}) cannot be taken into the rotation: ${
            error instanceof Error ? error.message : error
          }; then run again`,
        );
      }
    }
    for (const groupName of NODE_GROUPS) {
      const list = deps.run[groupName];
      const kept = list.filter((node) => !gone.some((each) => each.name === node.name));
      list.splice(0, list.length, ...kept, ...joined[groupName]);
      for (const node of joined[groupName]) {
        deps.printer.info(
          `Node ${node.name} joined (nodes.${groupName}.fromCluster): the drift re-check of ` +
            `phase "${phase}" brings it to what the done steps made, then the phase includes it`,
        );
      }
    }
    for (const { name, group } of gone) {
      deps.printer.warn(
        `Node ${name} is gone from the cluster or no longer matched by ` +
          `nodes.${group}.fromCluster: left out from phase "${phase}" on`,
      );
    }
    deps.run.nodes = resolved;
    return { controlPlane: [...deps.run.controlPlane], workers: [...deps.run.workers] };
  };
}
