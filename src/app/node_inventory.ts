/**
 * Recording the node inventory (src/state/node_inventory.ts), and the new CA material of a
 * read-only dry run taken from it.
 *
 * Which files: every file the remaining plan reads (and the drift re-check of its done steps),
 * found by walking it as a dry run over nodes that note each read (src/engine/recording_node.ts),
 * plus the files the run's preflight and the new-CA loading read (every CA file of the plan on the
 * control-plane nodes, the cluster CA on every node). Each is then read once more, as it is now,
 * and stripped of keys and credentials.
 * @module
 */
import { runPlan } from "../engine/runner.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { StepKind } from "../engine/step.ts";
import type { CaMaterial, CaPair } from "../engine/ca_material.ts";
import { caMaterialOf } from "../engine/ca_material.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import { OverlayClusterApi } from "../engine/overlay_cluster.ts";
import { RecordingNode } from "../engine/recording_node.ts";
import { memoryPrinter } from "../engine/printer.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { CA_NAMES, type CaName, type CaSource } from "../plan/ca.ts";
import { caPaths } from "../plan/node_paths.ts";
import { fingerprint, parseCertificate, sha256Hex, stripPrivateKeys } from "../pki/mod.ts";
import type { InventoryCa, InventoryFile, NodeInventory } from "../state/node_inventory.ts";
export { formatAge } from "../state/node_inventory.ts";
import { readNewCaCertificate } from "../state/new_ca_secret.ts";
import type { RunFrame } from "./run_frame.ts";

/** What a recording needs of the run that makes it. */
export interface InventoryDeps {
  readonly loaded: LoadedPlan;
  readonly frame: RunFrame;
  /** The new CAs as the run loaded them. */
  readonly cas: CaMaterial;
  readonly kinds: readonly StepKind[];
  /** `host/pid` and the CI run's URL. */
  readonly recordedBy: string;
  readonly now?: () => Date;
}

/** Records what the plan's nodes hold now (see the module's comment); writes nothing. */
export async function takeInventory(deps: InventoryDeps): Promise<NodeInventory> {
  const { loaded, frame } = deps;
  const plan = loaded.plan;
  const recording = new Map<NodeAccess, RecordingNode>();
  const record = (node: NodeAccess) => {
    const recorder = new RecordingNode(node);
    recording.set(node, recorder);
    return new OverlayNode(recorder);
  };
  const context = frame.context(deps.cas);
  await runPlan({
    loaded,
    registry: new StepRegistry(deps.kinds),
    store: frame.store,
    printer: memoryPrinter(),
    // The drift re-check of a dry run's first phase reads the done steps' files: record them too.
    recheckDone: true,
    context: {
      ...context,
      dryRun: true,
      // Writes stay in memory; no server-side check is needed to learn what is read.
      cluster: new OverlayClusterApi(frame.live),
      controlPlane: frame.controlPlane.map(record),
      workers: frame.workers.map(record),
    },
  });
  const rotated = CA_NAMES.filter((ca) => plan.cas[ca] !== undefined);
  const always = (node: NodeAccess, controlPlane: boolean) => [
    caPaths(plan.layout, "cluster").cert,
    ...(controlPlane ? rotated.flatMap((ca) => Object.values(caPaths(plan.layout, ca))) : []),
    ...(recording.get(node)?.reads ?? []),
  ];
  const nodes: Record<string, Record<string, InventoryFile | null>> = {};
  const groups = [
    ...frame.controlPlane.map((node) => ({ node, controlPlane: true })),
    ...frame.workers.map((node) => ({ node, controlPlane: false })),
  ];
  for (const { node, controlPlane } of groups) {
    const files: Record<string, InventoryFile | null> = {};
    for (const path of [...new Set(always(node, controlPlane))].sort()) {
      const content = await node.readFile(path);
      if (content === undefined) {
        files[path] = null;
        continue;
      }
      const stripped = await stripPrivateKeys(content, `${node.name}:${path}`);
      files[path] = {
        sha256: await sha256Hex(new TextEncoder().encode(content)),
        content: stripped.text,
        stripped: stripped.removed.length,
      };
    }
    nodes[node.name] = files;
  }
  const cas: Record<string, InventoryCa> = {};
  for (const ca of rotated) {
    if (plan.cas[ca]?.source !== "generate") continue;
    // Only a CA the rotation has stored: before its first run a dry run generates one itself.
    if (await readNewCaCertificate(frame.live, plan.metadata.name, ca) === undefined) continue;
    const pair = deps.cas.get(ca);
    cas[ca] = {
      certPem: pair.certPem,
      keyStandIn: (await stripPrivateKeys(pair.keyPem, `the new ${ca} CA's key`)).text,
    };
  }
  return {
    plan: plan.metadata.name,
    recordedAt: (deps.now?.() ?? new Date()).toISOString(),
    recordedBy: deps.recordedBy,
    nodes,
    cas,
  };
}

/**
 * The new CAs of a read-only dry run: a CA the inventory holds is its certificate with the
 * stand-in of its key (the same stand-in its key file on the nodes reads as, so comparing them
 * finds them equal, as a dry run with node access would); a CA given as files is the plan's; a CA
 * the rotation has not generated yet is generated now, in memory, as any first dry run does.
 */
export async function inventoryMaterial(
  inventory: NodeInventory,
  plan: LoadedPlan["plan"],
  given: Record<string, CaPair>,
): Promise<{ cas: CaMaterial; generated: CaName[] }> {
  const pairs: Record<string, CaPair> = {};
  const generated: CaName[] = [];
  const { generateCa } = await import("../pki/mod.ts");
  for (const [ca, source] of Object.entries(plan.cas) as [CaName, CaSource | undefined][]) {
    if (!source) continue;
    if (source.source === "files") {
      pairs[ca] = given[ca];
      continue;
    }
    const recorded = inventory.cas[ca];
    if (recorded) {
      pairs[ca] = {
        certPem: recorded.certPem,
        keyPem: recorded.keyStandIn,
        fingerprint: await fingerprint(parseCertificate(recorded.certPem)),
      };
      continue;
    }
    const fresh = await generateCa({
      commonName: source.commonName,
      keyType: source.algorithm,
      validityDays: source.validityDays,
    });
    generated.push(ca);
    pairs[ca] = {
      certPem: fresh.certPem,
      keyPem: fresh.keyPem,
      fingerprint: await fingerprint(fresh.cert),
    };
  }
  return { cas: caMaterialOf(pairs), generated };
}

/**
 * `inventory`: records the node inventory of `options.loaded` now (node access and the full
 * role needed; the nodes and the cluster are only read, but the ConfigMap is written).
 */
export async function recordInventory(
  options: import("./run_frame.ts").RunOptions & { readonly kinds?: readonly StepKind[] },
): Promise<NodeInventory> {
  const { withRunFrame } = await import("./run_frame.ts");
  const { loadNewCaMaterial } = await import("../state/new_ca_secret.ts");
  const { writeNodeInventory } = await import("../state/node_inventory_configmap.ts");
  const { currentHolder, holderIdentity } = await import("../state/run_holder.ts");
  const { STEP_KINDS } = await import("../steps/kinds.ts");
  const { dirname } = await import("node:path");
  const checks = { refuse: () => Promise.resolve(), everyNodeCovered: false };
  return await withRunFrame({ ...options, dryRun: true }, checks, async (frame) => {
    const material = await loadNewCaMaterial(
      frame.live,
      options.loaded.plan,
      dirname(options.loaded.path),
      {
        dryRun: true,
        given: frame.given,
        controlPlane: frame.controlPlane,
      },
    );
    const inventory = await takeInventory({
      loaded: options.loaded,
      frame,
      cas: material.cas,
      kinds: options.kinds ?? STEP_KINDS,
      recordedBy: holderIdentity(currentHolder()),
    });
    await writeNodeInventory(frame.live, inventory);
    return inventory;
  });
}

/**
 * The plan's node inventory from the cluster, for `rotate --dry-run --nodes-from-inventory`.
 * @throws {InputError} when none was recorded, saying how to record it.
 */
export async function loadNodeInventory(
  options: import("../kube/kubeconfig.ts").KubeConfigOptions & { readonly loaded: LoadedPlan },
): Promise<NodeInventory> {
  const { KubeConfigSource } = await import("../kube/kubeconfig.ts");
  const { KubeClusterApi } = await import("../kube/kube_cluster_api.ts");
  const { readNodeInventory, inventoryConfigMapName } = await import(
    "../state/node_inventory_configmap.ts"
  );
  const { InputError } = await import("../plan/input_error.ts");
  const source = new KubeConfigSource(options);
  const live = new KubeClusterApi(() => source.current());
  const name = options.loaded.plan.metadata.name;
  const inventory = await readNodeInventory(live, name);
  if (!inventory) {
    throw new InputError(
      `No node inventory for plan "${name}" (ConfigMap kube-system/${
        inventoryConfigMapName(name)
      }): run \`ca-rotator inventory --plan ${options.loaded.path}\` with node access first`,
    );
  }
  return inventory;
}
