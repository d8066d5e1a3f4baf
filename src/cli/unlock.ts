/**
 * `unlock`: frees the run lock when its holder is gone. Without `--confirm` it only says who
 * holds it and changes nothing.
 * @module
 */
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { unlockRotation } from "../app/unlock.ts";

/** The flags of `unlock`. */
export interface UnlockFlags {
  readonly plan: string;
  readonly confirm: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Runs `unlock` and returns its exit code. */
export async function unlockCommand(flags: UnlockFlags, printer: Printer): Promise<number> {
  if (!flags.confirm) {
    throw new InputError(
      "unlock frees the lock of a run that may still be running: make sure its holder is gone " +
        "(the refusal of `rotate` names host, process and pipeline), then add --confirm",
    );
  }
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const holder = await unlockRotation(loaded, flags);
  const lease = `kube-system/ca-rotator-${loaded.plan.metadata.name}`;
  printer.info(
    holder
      ? `released the run lock (Lease ${lease}) held by ${holder}; the next run takes it`
      : `nobody holds the run lock (Lease ${lease}); nothing to do`,
  );
  return ExitCode.Ok;
}
