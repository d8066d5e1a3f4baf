/**
 * The frame of every run that changes the cluster (`rotate`, `rollback`): bad input refused
 * before anything is held (the given CA files, the first contact with the API server, the
 * command's own checks), every node of the plan reached (over ssh: connected and sudo checked)
 * and checked against the cluster (for `rotate`, every Node of the cluster covered and every
 * static pod that mounts kubeconfigs or the PKI directory listed), the run lock, the progress
 * store, the events and the stop signal (a SIGINT/SIGTERM, or the lock lost). On every way out —
 * a refused lock, bad input found late, a step's crash, a signal — every ssh connection and its
 * socket directory are closed and the lock is released.
 * @module
 */
import { dirname } from "node:path";
import type { ClusterApi } from "../engine/cluster_api.ts";
import { OverlayClusterApi } from "../engine/overlay_cluster.ts";
import { ListOnceClusterApi } from "../engine/list_once_cluster.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import type { Printer } from "../engine/printer.ts";
import { type EventSink, fanOut } from "../engine/events.ts";
import type { CaMaterial } from "../engine/ca_material.ts";
import type { RunnerDeps } from "../engine/runner.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, KubeConfigSource } from "../kube/kubeconfig.ts";
import { contactServer } from "../kube/server_contact.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { SshConnections } from "../nodes/ssh_connections.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { CA_NAMES } from "../plan/ca.ts";
import { ConfigMapProgressStore } from "../state/progress_configmap.ts";
import { acquireRunLock } from "../state/run_lock.ts";
import { currentHolder, holderIdentity } from "../state/run_holder.ts";
import { configMapEventRecorder } from "../state/step_events.ts";
import { loadGivenCas } from "../state/new_ca_secret.ts";
import { checkGivenServiceAccountKeys } from "../steps/_given_sa_key.ts";
import { longestLeafDays } from "../steps/reissue_leaves.ts";
import { checkPlanNodes } from "./node_preflight.ts";
import { coverageGate, coverageMessage, nodesNotCovered } from "./node_coverage.ts";
import { hasGroupFromCluster, resolvePlanNodes } from "./cluster_nodes.ts";
import { phaseNodes, type RunNodes } from "./phase_nodes.ts";
import { InputError } from "../plan/input_error.ts";
import type { NodeInventory } from "../state/node_inventory.ts";
import { inventoryNode } from "./inventory_nodes.ts";
import {
  restartTargets,
  staticPodGate,
  staticPodLines,
  staticPodMessage,
  staticPodsOnNodes,
  unlistedStaticPods,
} from "./static_pod_coverage.ts";
import type { StaticPodTarget } from "../engine/step.ts";

/** What a run that changes the cluster needs to know. */
export interface RunOptions extends KubeConfigOptions {
  readonly loaded: LoadedPlan;
  readonly dryRun: boolean;
  readonly printer: Printer;
  /** Where the run's structured events go (besides Events on the progress ConfigMap). */
  readonly events?: EventSink;
  /** Stops the run at its next safe point when it aborts (a SIGINT or SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * A read-only dry run: the nodes are what this inventory recorded (no node is reached), and
   * object writes are kept in memory without server-side dry run (which needs write verbs).
   */
  readonly nodeInventory?: NodeInventory;
}

/** What the frame opened for the run. */
export interface RunFrame {
  /** The API server itself (reads, and the run's own records). */
  readonly live: KubeClusterApi;
  /** Where the steps write: the live API, or in a dry run its overlay. */
  readonly cluster: ClusterApi;
  readonly source: KubeConfigSource;
  /** The control-plane nodes as they are (in a dry run too): read, never written through. */
  readonly controlPlane: readonly NodeAccess[];
  /** The workers as they are (in a dry run too): read, never written through. */
  readonly workers: readonly NodeAccess[];
  /** The CAs the plan gives as files, loaded and checked. */
  readonly given: Awaited<ReturnType<typeof loadGivenCas>>;
  /** The progress record in the cluster. */
  readonly store: ConfigMapProgressStore;
  /** Aborts at a signal or when the run lock is lost. */
  readonly signal?: AbortSignal;
  /** The caller's events, and (unless dry) Events on the progress ConfigMap. */
  readonly events?: EventSink;
  /** Holds the run before a later phase (for the runner), where the command asks for one. */
  readonly phaseGate?: RunnerDeps["phaseGate"];
  /**
   * The nodes at each later phase start (for the runner), where the command asks for coverage
   * and a node group is found from the cluster (src/app/phase_nodes.ts).
   */
  readonly nodesAtPhase?: RunnerDeps["nodesAtPhase"];
  /** The runner's context for these nodes and the new CA material (overlays in a dry run). */
  context(cas: CaMaterial): RunnerDeps["context"];
}

/** What a command adds to its frame. */
export interface FrameChecks<R> {
  /**
   * Runs after the first contact with the API server and before any node is connected or the
   * lock taken: bad input it finds leaves nothing held; its result is handed to the body.
   */
  refuse(live: KubeClusterApi, store: ConfigMapProgressStore): Promise<R>;
  /**
   * Every Node of the cluster must be the plan's (src/app/node_coverage.ts): refused before the
   * lock when one is not, and a phase gate for the runner (`RunFrame.phaseGate`).
   */
  readonly everyNodeCovered?: boolean;
  /**
   * Every static pod that mounts kubeconfigs or the PKI directory must be the plan's
   * (src/app/static_pod_coverage.ts): listed, refused before the lock when one is not, and a
   * phase gate for the runner; the ones it restarts are handed to the steps.
   */
  readonly everyStaticPodListed?: boolean;
}

/** Opens the frame, runs `body` in it and closes it. */
export async function withRunFrame<R, T>(
  options: RunOptions,
  checks: FrameChecks<R>,
  body: (frame: RunFrame, refused: R) => Promise<T>,
): Promise<T> {
  const { loaded, dryRun, printer } = options;
  const plan = loaded.plan;
  const planDir = dirname(loaded.path);
  const source = new KubeConfigSource(options);
  const live = new KubeClusterApi(() => source.current());
  if (options.nodeInventory && !dryRun) {
    throw new InputError("a run from the node inventory is a dry run: add --dry-run");
  }
  // A dry run changes nothing: each collection it reads is listed once, for every step.
  const reads: ClusterApi = dryRun ? new ListOnceClusterApi(live) : live;
  const cluster = options.nodeInventory
    ? new OverlayClusterApi(reads)
    : dryRun
    ? new OverlayClusterApi(
      reads,
      new KubeClusterApi(() => source.current(), { serverDryRun: true }),
    )
    : live;
  const store = new ConfigMapProgressStore(live, plan.metadata.name);
  const given = await loadGivenCas(plan, planDir, {
    cluster: longestLeafDays(plan.steps, "cluster"),
    frontProxy: longestLeafDays(plan.steps, "frontProxy"),
  });
  await checkGivenServiceAccountKeys(plan.steps, loaded.path);
  await contactServer(source.current(), options);
  const refused = await checks.refuse(live, store);
  // Node groups found from the cluster: their Nodes, before anything is held or reached.
  const resolved = await resolvePlanNodes(reads, plan.nodes);

  const holder = currentHolder();
  const connections = new SshConnections();
  let lock: Awaited<ReturnType<typeof acquireRunLock>> | undefined;
  try {
    const inventory = options.nodeInventory;
    // From the inventory, only the drivers' node names are used: no driver reaches its node.
    const access = (node: NodeAccess): NodeAccess =>
      inventory ? inventoryNode(inventory, loaded.path, node.name) : node;
    const controlPlane: NodeAccess[] = nodesOf(resolved.controlPlane, plan.layout, connections)
      .map(access);
    const workers: NodeAccess[] = nodesOf(resolved.workers, plan.layout, connections).map(access);
    const run: RunNodes = { nodes: resolved, controlPlane, workers };
    const cas = CA_NAMES.filter((ca) => plan.cas[ca] !== undefined);
    // Every node is reached and checked before anything is changed on any of them.
    await mapBounded(
      [...controlPlane, ...workers],
      NODE_PARALLELISM,
      (node) => node.connect?.() ?? Promise.resolve(),
    );
    await checkPlanNodes(reads, {
      controlPlane,
      workers,
      layout: plan.layout,
      cas,
    });
    if (checks.everyNodeCovered) {
      const uncovered = await nodesNotCovered(reads, resolved);
      if (uncovered.length > 0) {
        throw new InputError(
          `The plan does not cover every Node (nothing was changed): ${coverageMessage(uncovered)}`,
        );
      }
    }
    let restarted: StaticPodTarget[] = [];
    if (checks.everyStaticPodListed && inventory) {
      printer.warn(
        "static pods were not read: a dry run from the node inventory reaches no node (a run " +
          "with node access lists them and refuses unlisted ones)",
      );
    } else if (checks.everyStaticPodListed) {
      const found = await staticPodsOnNodes([...controlPlane, ...workers], plan);
      for (const line of staticPodLines(found, plan.staticPods)) printer.info(line);
      const unlisted = unlistedStaticPods(found, plan.staticPods);
      if (unlisted.length > 0) {
        throw new InputError(
          `The plan does not list every static pod that mounts kubeconfigs or the PKI directory ` +
            `(nothing was changed): ${staticPodMessage(unlisted)}`,
        );
      }
      restarted = restartTargets(found, plan.staticPods);
    }
    const gates = [
      checks.everyNodeCovered ? coverageGate(reads, () => run.nodes) : undefined,
      checks.everyStaticPodListed && !inventory
        ? staticPodGate(() => [...run.controlPlane, ...run.workers], plan)
        : undefined,
    ].filter((gate) => gate !== undefined);
    lock = dryRun ? undefined : await acquireRunLock(live, {
      planName: plan.metadata.name,
      holder,
      onTakeover: (previous, why) =>
        printer.warn(`took the rotation lock over from ${previous}: ${why}`),
    });
    // The run also stops, before it acts without the lock, when the lock is lost.
    const stops = [options.signal, lock?.signal].filter((each) => each !== undefined);
    const wrap = (node: NodeAccess): NodeAccess => dryRun ? new OverlayNode(node) : node;
    return await body({
      live,
      cluster,
      source,
      controlPlane,
      workers,
      given,
      store,
      signal: stops.length ? AbortSignal.any(stops) : undefined,
      phaseGate: gates.length === 0 ? undefined : async (phase) => {
        for (const gate of gates) {
          const held = await gate(phase);
          if (held !== undefined) return held;
        }
        return undefined;
      },
      nodesAtPhase: checks.everyNodeCovered && hasGroupFromCluster(plan.nodes)
        ? phaseNodes({
          cluster: reads,
          planNodes: plan.nodes,
          layout: plan.layout,
          cas,
          connections,
          printer,
          run,
        })
        : undefined,
      // A dry run records nothing in the cluster, Events included.
      events: dryRun ? options.events : fanOut(
        options.events,
        configMapEventRecorder(live, plan.metadata.name, holderIdentity(holder), printer),
      ),
      context: (cas) => ({
        dryRun,
        layout: plan.layout,
        apiServers: plan.apiServers,
        workloads: plan.workloads,
        staticPods: restarted,
        planDir,
        controlPlane: controlPlane.map(wrap),
        workers: workers.map(wrap),
        cluster,
        cas,
      }),
    }, refused);
  } finally {
    await connections.close();
    // A failed release must not hide how the run ended: the Lease then simply expires.
    await lock?.release().catch((error) =>
      printer.warn(
        `Cannot release the run lock: ${error instanceof Error ? error.message : error} ` +
          "(it expires by itself)",
      )
    );
  }
}
