/**
 * One `rotate` run, wired: the plan, the cluster connection, the nodes, the new CAs, the lock,
 * the progress record and the runner. In a dry run every write goes to an overlay and the
 * API server checks object writes with server-side dry run.
 * @module
 */
import { dirname } from "node:path";
import { runPlan, type RunResult } from "../engine/runner.ts";
import type { Printer } from "../engine/printer.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { StepKind } from "../engine/step.ts";
import type { Change } from "../engine/change.ts";
import type { ProgressStore } from "../engine/progress.ts";
import { type KubeConfigOptions, KubeConfigSource } from "../kube/kubeconfig.ts";
import { ConfigMapProgressStore } from "../state/progress_configmap.ts";
import { acquireRunLock } from "../state/run_lock.ts";
import { currentHolder, holderIdentity } from "../state/run_holder.ts";
import { configMapEventRecorder } from "../state/step_events.ts";
import { type EventSink, fanOut } from "../engine/events.ts";
import { loadGivenCas, loadNewCaMaterial } from "../state/new_ca_secret.ts";
import { SshConnections } from "../nodes/ssh_connections.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { CA_NAMES } from "../plan/ca.ts";
import { checkPlanNodes } from "./node_preflight.ts";
import { connectPlanNodes, runClusterApis } from "./run_setup.ts";
import { contactServer } from "../kube/server_contact.ts";

/** What a rotate run needs to know. */
export interface RotationOptions extends KubeConfigOptions {
  readonly loaded: LoadedPlan;
  readonly dryRun: boolean;
  /** The step kinds (default: every kind of src/steps/kinds.ts). */
  readonly kinds?: readonly StepKind[];
  readonly printer: Printer;
  /** Where the run's structured events go (besides Events on the progress ConfigMap). */
  readonly events?: EventSink;
  /** Stops the run at its next safe point when it aborts (a SIGINT or SIGTERM). */
  readonly signal?: AbortSignal;
}

/** The result of a rotate run, with the changes of the new-CA Secret in a dry run. */
export interface RotationResult extends RunResult {
  readonly setupChanges: readonly Change[];
}

/** Runs (or, dry, plans) the rotation. */
export async function rotate(options: RotationOptions): Promise<RotationResult> {
  const { loaded, dryRun, printer } = options;
  const registry = new StepRegistry(options.kinds ?? STEP_KINDS);
  const plan = loaded.plan;
  const source = new KubeConfigSource(options);
  const { live, cluster } = runClusterApis(source, dryRun);

  const holder = currentHolder();
  const connections = new SshConnections();
  // Bad input is refused before the lock is taken and anything is written.
  const given = await loadGivenCas(plan, dirname(loaded.path));
  await contactServer(source.current(), options);
  // Every node is reached (and sudo checked) before anything is changed on any of them.
  const { controlPlane, workers } = await connectPlanNodes(
    plan,
    connections,
    (nodes) =>
      checkPlanNodes(live, {
        ...nodes,
        layout: plan.layout,
        cas: CA_NAMES.filter((ca) => plan.cas[ca] !== undefined),
      }),
  );
  const lock = dryRun ? undefined : await acquireRunLock(live, {
    planName: plan.metadata.name,
    holder,
    onTakeover: (previous, why) =>
      printer.warn(`took the rotation lock over from ${previous}: ${why}`),
  });
  try {
    const material = await loadNewCaMaterial(live, plan, dirname(loaded.path), {
      dryRun,
      given,
    });
    if (plan.cas.cluster) source.trust(material.cas.get("cluster").certPem);
    const wrap = (node: NodeAccess): NodeAccess => dryRun ? new OverlayNode(node) : node;
    const store: ProgressStore = new ConfigMapProgressStore(live, plan.metadata.name);
    printer.info(
      `${dryRun ? "planning" : "running"} "${loaded.path}" (${plan.metadata.name}) up to phase ` +
        `"${plan.stopAfter}"${dryRun ? " and showing every later phase" : ""}`,
    );
    // The run also stops, before it acts without the lock, when the lock is lost.
    const stops = [options.signal, lock?.signal].filter((each) => each !== undefined);
    const result = await runPlan({
      loaded,
      registry,
      store,
      printer,
      signal: stops.length ? AbortSignal.any(stops) : undefined,
      // A dry run records nothing in the cluster, Events included.
      events: dryRun ? options.events : fanOut(
        options.events,
        configMapEventRecorder(live, plan.metadata.name, holderIdentity(holder), printer),
      ),
      context: {
        dryRun,
        layout: plan.layout,
        apiServers: plan.apiServers,
        workloads: plan.workloads,
        planDir: dirname(loaded.path),
        controlPlane: controlPlane.map(wrap),
        workers: workers.map(wrap),
        cluster,
        cas: material.cas,
      },
    });
    return { ...result, setupChanges: material.changes };
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
