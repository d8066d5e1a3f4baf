/**
 * What a person's or a pipeline's kubeconfig needs at each point of a rotation, from the plan and
 * the progress record alone (pure): which CA certificates its clusters must trust
 * (`certificate-authority-data`), and which CA a client certificate must come from.
 *
 * - before the rotation (or after a finished rollback): the old CA;
 * - from the moment the trust phase has made the new CA (the progress record holds its
 *   fingerprint) through the switch: the bundle of old and new CA — the API servers serve an
 *   old-CA chain until the switch re-issues their certificates, a new-CA chain after it;
 * - once finalize has begun (a rollback is refused from then on, and the API servers serve the
 *   new chain since the switch) and after it: the new CA alone.
 *
 * Client certificates of the old CA are accepted until finalize removes the old CA from the API
 * servers' `--client-ca-file`: they must be renewed after the switch (when the controller-manager
 * signs with the new CA) and before finalize.
 * @module
 */
import type { Progress } from "../engine/progress.ts";
import type { Phase } from "../plan/phase.ts";
import type { PlannedStep } from "./next_run.ts";

/** Where the rotation stands for a kubeconfig. */
export type KubeconfigStage =
  | "before" // no rotation recorded, or no new CA yet
  | "rolled-back" // a rollback finished: the old CA alone again
  | "trust" // the new CA exists; the switch has not finished
  | "switched" // every switch step done; finalize not begun: renew old-CA client certificates now
  | "finalize" // finalize begun
  | "complete"; // every finalize step done

/** The CA certificates a kubeconfig's cluster should hold. */
export type CaDataNeed = "old" | "bundle" | "new";

/** What a kubeconfig needs now. */
export interface KubeconfigNeeds {
  readonly stage: KubeconfigStage;
  readonly caData: CaDataNeed;
  /** The CA a client certificate issued now comes from; `either` while the switch runs. */
  readonly signer: "old" | "new" | "either";
  /** Whether a client certificate of the old CA still authenticates. */
  readonly oldClientCertsAccepted: boolean;
}

/** In words, for messages: `the old CA`, `the bundle of old and new CA`, `the new CA alone`. */
export function caDataWords(need: CaDataNeed): string {
  return need === "old"
    ? "the old CA"
    : need === "bundle"
    ? "the bundle of old and new CA"
    : "the new CA alone";
}

/** What a kubeconfig needs, given the plan's steps with their records and the progress record. */
export function kubeconfigNeeds(
  steps: readonly PlannedStep[],
  progress: Progress | undefined,
): KubeconfigNeeds {
  if (progress?.rollback?.finishedAt) {
    return { stage: "rolled-back", caData: "old", signer: "old", oldClientCertsAccepted: true };
  }
  if (!progress?.caFingerprints?.cluster) {
    return { stage: "before", caData: "old", signer: "old", oldClientCertsAccepted: true };
  }
  const of = (phase: Phase) => steps.filter((step) => step.phase === phase);
  const begun = (phase: Phase) => of(phase).some((step) => step.record !== undefined);
  const done = (phase: Phase) =>
    of(phase).length > 0 && of(phase).every((step) => step.record?.status === "done");
  if (begun("finalize")) {
    const complete = done("finalize");
    return {
      stage: complete ? "complete" : "finalize",
      caData: "new",
      signer: "new",
      oldClientCertsAccepted: !complete,
    };
  }
  if (done("switch")) {
    return { stage: "switched", caData: "bundle", signer: "new", oldClientCertsAccepted: true };
  }
  return {
    stage: "trust",
    caData: "bundle",
    signer: begun("switch") ? "either" : "old",
    oldClientCertsAccepted: true,
  };
}

/**
 * The line `status` prints about kubeconfigs: what to do with them now and next. `command` is
 * how to run `kubeconfig` for this plan (e.g. `ca-rotator kubeconfig --plan plans/x.yaml`).
 */
export function kubeconfigAdvice(needs: KubeconfigNeeds, command: string): string {
  const bring = `${command} --in FILE --out FILE`;
  switch (needs.stage) {
    case "before":
    case "rolled-back":
      return "Kubeconfigs: after the trust phase and before the switch, bring every kubeconfig's " +
        `CA to the bundle of old and new CA (${bring}); after the switch and before finalize, ` +
        "renew client certificates of the old CA (add --renew-client)";
    case "trust":
      return "Kubeconfigs: before the switch, bring every kubeconfig's CA to the bundle of old " +
        `and new CA (${bring}); after the switch and before finalize, renew client ` +
        "certificates of the old CA (add --renew-client)";
    case "switched":
      return "Kubeconfigs: before finalize, renew every client certificate of the old CA " +
        `(${bring} --renew-client); kubeconfigs must trust the bundle of old and new CA`;
    case "finalize":
    case "complete":
      return "Kubeconfigs: set every kubeconfig's CA to the new CA alone " +
        `(${bring}); client certificates of the old CA ` +
        (needs.oldClientCertsAccepted
          ? "stop working when finalize removes the old CA (renew with --renew-client)"
          : "no longer authenticate (renew with --renew-client)");
  }
}
