/**
 * The step contract: a step kind is one {@link StepKind} — its plan format (schema, phases,
 * rules, tuning fields; see src/plan/step_format.ts) and its behaviour, observe → diff → apply →
 * verify. The engine knows nothing of any step kind; a step sees only this narrow context.
 * @module
 */
import type { Change } from "./change.ts";
import type { Printer } from "./printer.ts";
import type { NodeAccess } from "./node_access.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { CaMaterial } from "./ca_material.ts";
import type { WaitState } from "./events.ts";
import type { Layout } from "../plan/layout.ts";
import type { ApiServers } from "../plan/schema.ts";
import type { StepFields, StepFormat } from "../plan/step_format.ts";
import type { RollWorkloadsSettings } from "../plan/workloads.ts";
import type { Undo } from "./undo.ts";
import type { DriftPolicy } from "./drift.ts";

/** A static pod on a node, by the path of its manifest there. */
export interface StaticPodTarget {
  readonly node: string;
  readonly name: string;
  readonly namespace: string;
  readonly manifest: string;
}

/** What a step may see and touch while it runs. In a dry run, writes land in an overlay. */
export interface StepContext {
  readonly stepId: string;
  /** True in a dry run: writes go to the overlay and waits return at once. */
  readonly dryRun: boolean;
  /** Where PKI files, manifests, kubeconfigs and kubelet files live on the nodes. */
  readonly layout: Layout;
  /** The plan's `apiServers` section, when it has one. */
  readonly apiServers?: ApiServers;
  /** The plan's `workloads` defaults. */
  readonly workloads: RollWorkloadsSettings;
  /**
   * The static pods the plan restarts (`staticPods.restart`), where the run found them on the
   * nodes: node, pod name and namespace, manifest path. Absent or empty: none.
   */
  readonly staticPods?: readonly StaticPodTarget[];
  /** The directory of the plan file, for paths the plan gives relative to itself. */
  readonly planDir: string;
  /** When this rotation's first step started (the progress record); now for a new one. */
  readonly rotationStartedAt: Date;
  /**
   * When the progress record says the step `stepId` of this plan finished (done); undefined
   * while it is not done, in a dry run of a step not done yet, and outside a run.
   */
  readonly stepFinishedAt?: (stepId: string) => Date | undefined;
  readonly controlPlane: readonly NodeAccess[];
  readonly workers: readonly NodeAccess[];
  readonly cluster: ClusterApi;
  /** The new CA material of each rotating CA (generated once, kept in a Secret). */
  readonly cas: CaMaterial;
  readonly log: Printer;
  /**
   * Waits until `condition` holds (it is called again whenever it returns false), or throws
   * after `timeoutMs`. In a dry run it returns at once. A condition that counts (`{done, ready,
   * total}`) shows its counts as progress.
   */
  waitFor(
    description: string,
    condition: () => Promise<WaitState>,
    timeoutMs: number,
  ): Promise<void>;
  /**
   * Reports the progress of a wait the step runs itself (a watch, concurrent rollouts): `ready`
   * of `total` done, giving up at `deadline` (epoch ms). Shown as the waits of `waitFor` are.
   */
  progress(description: string, ready: number, total: number, deadline: number): void;
}

/** One step kind: its plan format and its behaviour. */
export interface StepKind<S extends StepFields = StepFields, O = unknown> extends StepFormat<S> {
  /** Reads live state; never writes. */
  observe(ctx: StepContext, step: S): Promise<O>;
  /** Pure: the changes that would converge the observed state; empty when done. */
  diff(observed: O, step: S): Change[];
  /** Makes the changes; safe to repeat after a crash. */
  apply(ctx: StepContext, step: S, changes: readonly Change[]): Promise<void>;
  /** Waits until the step's postcondition holds; throws when it does not. */
  verify(ctx: StepContext, step: S): Promise<void>;
  /** How `rollback` reverts what the kind wrote (src/engine/undo.ts). */
  readonly undo: Undo;
  /**
   * How a done step of the kind is re-checked at each phase start, and what a drift from its end
   * state does: re-apply it, or hold the run (src/engine/drift.ts).
   */
  readonly drift: DriftPolicy;
}

/**
 * Declares a step kind; the step's type is inferred from its schema, so the kind's behaviour is
 * checked against its own parameters.
 */
export function defineStepKind<S extends StepFields, O>(kind: StepKind<S, O>): StepKind<S, O> {
  return kind;
}
