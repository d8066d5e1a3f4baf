/**
 * One `rotate` run, in the run frame (src/app/run_frame.ts): the new CAs (generated once, kept in
 * a Secret until every control-plane node holds their keys), the progress record and the runner. In a dry run every write goes to an overlay and
 * the API server checks object writes with server-side dry run.
 * @module
 */
import { dirname } from "node:path";
import { runPlan, type RunResult } from "../engine/runner.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { StepKind } from "../engine/step.ts";
import type { Change } from "../engine/change.ts";
import type { Progress } from "../engine/progress.ts";
import { loadNewCaMaterial, newCaSecretName, releaseNewCaKeys } from "../state/new_ca_secret.ts";
import { STEP_KINDS } from "../steps/kinds.ts";
import { type RunFrame, type RunOptions, withRunFrame } from "./run_frame.ts";
import type { CaMaterial } from "../engine/ca_material.ts";
import type { CaPair } from "../engine/ca_material.ts";
import {
  formatAge,
  type InventoryFreshness,
  inventoryFreshness,
  type NodeInventory,
} from "../state/node_inventory.ts";
import { writeNodeInventory } from "../state/node_inventory_configmap.ts";
import { currentHolder, holderIdentity } from "../state/run_holder.ts";
import { inventoryMaterial, takeInventory } from "./node_inventory.ts";

/** What a rotate run needs to know. */
export interface RotationOptions extends RunOptions {
  /** The step kinds (default: every kind of src/steps/kinds.ts). */
  readonly kinds?: readonly StepKind[];
  /**
   * Re-check the done steps' end state at each phase start (src/engine/drift.ts); default on.
   * Off only through the internal switch (src/app/drift_switch.ts), for the drift test's control.
   */
  readonly recheckDone?: boolean;
}

/** The result of a rotate run, with the changes of the new-CA Secret in a dry run. */
export interface RotationResult extends RunResult {
  readonly setupChanges: readonly Change[];
  /** A read-only dry run: the node inventory it read, its age and warnings. */
  readonly nodeInventory?: InventoryFreshness;
  /** The progress record as the run left it (a dry run: as it found it), for measured rates. */
  readonly progress?: Progress;
}

/** Runs (or, dry, plans) the rotation. */
export function rotate(options: RotationOptions): Promise<RotationResult> {
  const { loaded, dryRun, printer } = options;
  const registry = new StepRegistry(options.kinds ?? STEP_KINDS);
  const plan = loaded.plan;
  const checks = {
    refuse: () => Promise.resolve(),
    everyNodeCovered: true,
    everyStaticPodListed: true,
  };
  return withRunFrame(options, checks, async (frame) => {
    const inventory = options.nodeInventory;
    const material = inventory
      ? await fromInventory(inventory, plan, frame.given)
      : await loadNewCaMaterial(frame.live, plan, dirname(loaded.path), {
        dryRun,
        given: frame.given,
        controlPlane: frame.controlPlane,
      });
    const freshness = inventory &&
      inventoryFreshness(inventory, await frame.store.load(), new Date());
    if (freshness) {
      printer.info(
        `nodes from the node inventory recorded at ${freshness.recordedAt} ` +
          `(${formatAge(freshness.ageSeconds)} ago) by ${freshness.recordedBy}`,
      );
      for (const warning of freshness.warnings) printer.warn(warning);
    }
    const releaseKeys = async () => {
      if (dryRun) return;
      for (const ca of await releaseNewCaKeys(frame.live, plan, frame.controlPlane)) {
        printer.info(
          `the new ${ca} CA's key left Secret kube-system/${
            newCaSecretName(plan.metadata.name)
          }: ` +
            "every control-plane node holds it, and a resumed run reads it there",
        );
      }
    };
    await releaseKeys();
    if (plan.cas.cluster) frame.source.trust(material.cas.get("cluster").certPem);
    printer.info(
      `${dryRun ? "planning" : "running"} "${loaded.path}" (${plan.metadata.name}) up to phase ` +
        `"${plan.stopAfter}"${dryRun ? " and showing every later phase" : ""}`,
    );
    const result = await runPlan({
      loaded,
      registry,
      store: frame.store,
      printer,
      signal: frame.signal,
      phaseGate: frame.phaseGate,
      nodesAtPhase: frame.nodesAtPhase,
      recheckDone: options.recheckDone ?? true,
      events: frame.events,
      context: frame.context(material.cas),
    });
    await releaseKeys();
    if (!dryRun) {
      // The nodes as this run leaves them, for the read-only dry runs of pull requests.
      await recordAfterRun(options, frame, material.cas, registryKinds(options));
    }
    return {
      ...result,
      progress: await frame.store.load(),
      setupChanges: material.changes,
      ...(freshness ? { nodeInventory: freshness } : {}),
    };
  });
}

function registryKinds(options: RotationOptions): readonly StepKind[] {
  return options.kinds ?? STEP_KINDS;
}

/** The new CAs of a read-only dry run, and the Secret it would create for those not yet generated. */
async function fromInventory(
  inventory: NodeInventory,
  plan: RotationOptions["loaded"]["plan"],
  given: Record<string, CaPair>,
): Promise<{ cas: CaMaterial; changes: Change[] }> {
  const { cas, generated } = await inventoryMaterial(inventory, plan, given);
  const name = newCaSecretName(plan.metadata.name);
  const changes: Change[] = generated.length === 0 ? [] : [{
    action: "create",
    target: { type: "object", apiVersion: "v1", kind: "Secret", namespace: "kube-system", name },
    after:
      generated.flatMap((ca) => [`${ca}.crt: (new CA material)`, `${ca}.key: (new CA material)`])
        .sort().join("\n") + "\n",
    sensitive: true,
    reason: "the new CAs are generated once and kept so a resumed run uses the same CA",
  }];
  return { cas, changes };
}

/**
 * Records the node inventory after a run that had node access; a failure is a warning (the run's
 * own outcome stands, and the next run or `inventory` records it).
 */
async function recordAfterRun(
  options: RotationOptions,
  frame: RunFrame,
  cas: CaMaterial,
  kinds: readonly StepKind[],
): Promise<void> {
  try {
    const inventory = await takeInventory({
      loaded: options.loaded,
      frame,
      cas,
      kinds,
      recordedBy: holderIdentity(currentHolder()),
    });
    await writeNodeInventory(frame.live, inventory);
    const files = Object.values(inventory.nodes).reduce((n, f) => n + Object.keys(f).length, 0);
    options.printer.info(
      `recorded the node inventory (${files} files on ${
        Object.keys(inventory.nodes).length
      } nodes, keys left out) for read-only dry runs`,
    );
  } catch (error) {
    options.printer.warn(
      `Cannot record the node inventory: ${error instanceof Error ? error.message : error} ` +
        "(a read-only dry run reads an older one; `ca-rotator inventory` records it)",
    );
  }
}
