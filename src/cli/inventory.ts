/**
 * `inventory`: records what the plan's nodes hold (each file the remaining plan reads: its hash
 * and its content without keys) in ConfigMap kube-system/ca-rotator-<plan>-nodes, so a pull
 * request's dry run needs no node access (`rotate --dry-run --nodes-from-inventory`).
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { recordInventory } from "../app/node_inventory.ts";

/** The flags of `inventory`. */
export interface InventoryFlags {
  readonly plan: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Runs `inventory` and returns its exit code. */
export async function inventoryCommand(flags: InventoryFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const inventory = await recordInventory({
    loaded,
    dryRun: true,
    printer,
    kubeconfig: flags.kubeconfig,
    context: flags.context,
  });
  const files = Object.values(inventory.nodes).flatMap((each) => Object.values(each));
  const stripped = files.reduce((n, file) => n + (file?.stripped ?? 0), 0);
  printer.info(
    `recorded the node inventory of "${loaded.plan.metadata.name}" at ${inventory.recordedAt}: ` +
      `${files.length} files on ${Object.keys(inventory.nodes).length} nodes, ${stripped} keys ` +
      `and credentials left out (ConfigMap kube-system/ca-rotator-${loaded.plan.metadata.name}-nodes)`,
  );
  return ExitCode.Ok;
}
