/**
 * The runner: walks a plan's steps in order through observe → diff → apply → verify, skips the
 * steps its progress record says are done, stops after the plan's `stopAfter` phase, and in a
 * dry run walks the whole remaining plan against an overlay.
 * @module
 */
import { type Change, hasChanges } from "./change.ts";
import { type Printer, stepPrinter } from "./printer.ts";
import type { Progress, ProgressStore, StepProgress } from "./progress.ts";
import type { StepRegistry } from "./registry.ts";
import type { StepContext } from "./step.ts";
import { GateClosedError, StepError, type StepStage } from "./step_error.ts";
import { planDrift } from "./plan_drift.ts";
import { type Phase, phaseIndex } from "../plan/phase.ts";
import type { LoadedPlan } from "../plan/load.ts";

/** The parts of a step's context that are the same for every step. */
export type SharedContext = Omit<StepContext, "stepId" | "log" | "waitFor" | "rotationStartedAt">;

/** What the runner needs. */
export interface RunnerDeps {
  readonly loaded: LoadedPlan;
  readonly registry: StepRegistry;
  readonly store: ProgressStore;
  readonly context: SharedContext;
  readonly printer: Printer;
  /** The clock, for timestamps (tests fix it). */
  readonly now?: () => Date;
}

/** The changes of one step, as a dry run shows them. */
export interface StepChanges {
  readonly stepId: string;
  readonly phase: Phase;
  readonly kind: string;
  readonly changes: readonly Change[];
}

/** The remote round trips (ssh) one step made, per node. */
export interface StepRoundTrips {
  readonly stepId: string;
  /** Every round trip of the step. */
  readonly total: number;
  /** The most any one node took. */
  readonly maxPerNode: number;
  /** By node name (nodes with none left out). */
  readonly perNode: Readonly<Record<string, number>>;
}

/** How a run ended. */
export type RunOutcome = "done" | "gate";

/** The result of a run. */
export interface RunResult {
  readonly outcome: RunOutcome;
  /** Every step that had something to do, with its changes. */
  readonly steps: readonly StepChanges[];
  readonly skipped: readonly string[];
  /** The gate's message when the outcome is "gate". */
  readonly gate?: string;
  /** Remote round trips per step that ran (empty when no node counts them). */
  readonly roundTrips: readonly StepRoundTrips[];
}

/** Runs the plan; in a dry run (context.dryRun) writes nothing and ignores `stopAfter`. */
export async function runPlan(deps: RunnerDeps): Promise<RunResult> {
  const { loaded, registry, store, context, printer } = deps;
  const now = deps.now ?? (() => new Date());
  const plan = loaded.plan;
  const dryRun = context.dryRun;
  const stopAfter = phaseIndex(plan.stopAfter);

  for (const step of plan.steps) registry.get(step.kind);

  const progress = await loadProgress(deps);
  const rotationStartedAt = firstStart(progress) ?? now();
  const steps: StepChanges[] = [];
  const skipped: string[] = [];
  const roundTrips: StepRoundTrips[] = [];
  const nodes = [...context.controlPlane, ...context.workers];

  for (const step of plan.steps) {
    if (!dryRun && phaseIndex(step.phase) > stopAfter) {
      printer.info(`stopping after phase "${plan.stopAfter}" (stopAfter); next: ${step.id}`);
      break;
    }
    const record = progress.steps[step.id];
    if (record?.status === "done") {
      skipped.push(step.id);
      continue;
    }
    const log = stepPrinter(printer, step.id);
    const kind = registry.get(step.kind);
    const ctx: StepContext = {
      ...context,
      rotationStartedAt,
      stepId: step.id,
      log,
      waitFor: (description, condition, timeoutMs) =>
        dryRun ? Promise.resolve() : waitFor(log, description, condition, timeoutMs),
    };
    const started = now().toISOString();
    const attempt: StepProgress = {
      status: "running",
      attempts: (record?.attempts ?? 0) + 1,
      digest: loaded.stepDigests[step.id],
      startedAt: started,
    };
    if (!dryRun) {
      progress.steps[step.id] = attempt;
      await save(store, progress, now);
    }
    let stage: StepStage = "observe";
    const countBefore = countRoundTrips(nodes);
    try {
      log.info(`${dryRun ? "planning" : "running"} ${step.kind} (phase ${step.phase})`);
      const observed = await kind.observe(ctx, step);
      stage = "diff";
      const changes = kind.diff(observed, step);
      if (hasChanges(changes)) {
        stage = "apply";
        await kind.apply(ctx, step, changes);
        steps.push({ stepId: step.id, phase: step.phase, kind: step.kind, changes });
      } else {
        log.info("nothing to change");
      }
      if (!dryRun) {
        stage = "verify";
        await kind.verify(ctx, step);
        progress.steps[step.id] = {
          ...attempt,
          status: "done",
          finishedAt: now().toISOString(),
          changes: changes.length,
        };
        await save(store, progress, now);
        log.info(`done (${changes.length} changes)`);
      }
    } catch (error) {
      if (error instanceof GateClosedError) {
        if (!dryRun) {
          progress.steps[step.id] = { ...attempt, status: "blocked", error: error.message };
          await save(store, progress, now);
        }
        roundTrips.push(stepRoundTrips(step.id, countBefore, countRoundTrips(nodes)));
        return {
          outcome: "gate",
          steps,
          skipped,
          gate: error.message,
          roundTrips: roundTrips.some((each) => each.total > 0) ? roundTrips : [],
        };
      }
      const wrapped = error instanceof StepError ? error : new StepError(step.id, stage, error);
      if (!dryRun) {
        progress.steps[step.id] = { ...attempt, status: "failed", error: wrapped.message };
        await save(store, progress, now);
      }
      throw wrapped;
    }
    roundTrips.push(stepRoundTrips(step.id, countBefore, countRoundTrips(nodes)));
  }
  return {
    outcome: "done",
    steps,
    skipped,
    roundTrips: roundTrips.some((each) => each.total > 0) ? roundTrips : [],
  };
}

/** Each counting node's round trips so far, by name. */
function countRoundTrips(nodes: readonly { name: string; roundTrips?(): number }[]) {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    if (node.roundTrips) counts.set(node.name, node.roundTrips());
  }
  return counts;
}

function stepRoundTrips(
  stepId: string,
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): StepRoundTrips {
  const perNode: Record<string, number> = {};
  for (const [name, count] of after) {
    const made = count - (before.get(name) ?? 0);
    if (made > 0) perNode[name] = made;
  }
  const made = Object.values(perNode);
  return {
    stepId,
    total: made.reduce((sum, count) => sum + count, 0),
    maxPerNode: Math.max(0, ...made),
    perNode,
  };
}

async function loadProgress(deps: RunnerDeps): Promise<Progress> {
  const { loaded, store, context } = deps;
  const caFingerprints = context.cas.fingerprints();
  const existing = await store.load();
  if (existing) {
    const problems = planDrift(existing, {
      name: loaded.plan.metadata.name,
      stepDigests: loaded.stepDigests,
      caFingerprints,
    });
    if (problems.length > 0) {
      throw new Error(
        `Cannot run plan "${loaded.path}" against the rotation recorded in the cluster:\n  ` +
          problems.join("\n  "),
      );
    }
  }
  return {
    plan: loaded.plan.metadata.name,
    planDigest: loaded.digest,
    caFingerprints: { ...existing?.caFingerprints, ...caFingerprints },
    stopAfter: loaded.plan.stopAfter,
    steps: existing?.steps ?? {},
  };
}

/** The earliest start recorded for any step: when the rotation began. */
function firstStart(progress: Progress): Date | undefined {
  const starts = Object.values(progress.steps)
    .map((record) => record.startedAt ? Date.parse(record.startedAt) : NaN)
    .filter((time) => !Number.isNaN(time));
  return starts.length ? new Date(Math.min(...starts)) : undefined;
}

async function save(store: ProgressStore, progress: Progress, now: () => Date): Promise<void> {
  progress.updatedAt = now().toISOString();
  await store.save(progress);
}

async function waitFor(
  log: Printer,
  description: string,
  condition: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  let delay = 250;
  log.info(`waiting for ${description}`);
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${description}`,
      );
    }
    if (Date.now() - lastReport > 10_000) {
      log.info(`still waiting for ${description}`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2_000);
  }
}
