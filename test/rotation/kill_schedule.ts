/**
 * Runs a rotation phase again and again, SIGKILLing each run at the next open kill point, until
 * a run completes the phase — the crash-and-resume loop of crash_resume_test and
 * four_credentials_test. After every kill the {@link CrashChecks} run; a point in a step that a
 * resumed run finishes first is passed by, not covered.
 * @module
 */
import assert from "node:assert/strict";
import { type KilledRun, type KillPoint, pointName, runUntilKilled } from "./kill_at_event.ts";
import type { CrashChecks } from "./crash_checks.ts";

/** A step of the plan, as the schedule needs it. */
export interface ScheduledStep {
  readonly id: string;
  readonly phase: string;
  readonly kind: string;
}

/** Where the kills landed, and which points were passed by. */
export class KillSchedule {
  /** Points a run was killed at, in order. */
  readonly covered: KillPoint[] = [];
  /** Points in steps a resumed run finished before reaching them. */
  readonly passedBy: KillPoint[] = [];
  /** Where each kill landed: the last event line before it (`step/Type`). */
  readonly landed = new Map<KillPoint, string>();

  constructor(
    readonly points: readonly KillPoint[],
    readonly steps: readonly ScheduledStep[],
    readonly checks: CrashChecks,
  ) {
    for (const each of points) assert.ok(this.#find(each.step), `${pointName(each)}: a plan step`);
  }

  /** The plan step `id`. */
  stepOf(id: string): ScheduledStep {
    return this.#find(id)!;
  }

  /** The points of `phase` neither covered nor passed by yet. */
  open(phase: string): KillPoint[] {
    return this.points.filter((each) =>
      this.stepOf(each.step).phase === phase && !this.covered.includes(each) &&
      !this.passedBy.includes(each)
    );
  }

  /** Records a run of `phase`: its kill point, and the open points of steps it finished. */
  settle(run: KilledRun, phase: string): void {
    if (run.killedAt) {
      this.covered.push(run.killedAt);
      this.landed.set(run.killedAt, run.lastLine ?? "");
    }
    const done = new Set(
      run.lines.filter((line) => line.type === "StepDone").map((line) => line.step),
    );
    for (const each of this.open(phase)) if (done.has(each.step)) this.passedBy.push(each);
  }

  /** Records a killed run, asserts it died of SIGKILL, and runs the checks. */
  async killed(run: KilledRun, phase: string): Promise<void> {
    this.settle(run, phase);
    const where = pointName(run.killedAt!);
    assert.equal(run.code, 137, `the run killed at ${where} died of SIGKILL`);
    console.log(`kill ${this.covered.length}: ${where}, after ${run.lastLine} (pid ${run.pid})`);
    await this.checks.afterKill(where);
  }

  /**
   * Runs `plan` (which stops after `phase`), killing each run at the next open point of the
   * phase, until a run completes it; `onFailure` may print what explains a failed run.
   */
  async resumePhase(
    env: Record<string, string>,
    plan: string,
    phase: string,
    onFailure?: () => Promise<void>,
  ): Promise<void> {
    for (;;) {
      const run = await runUntilKilled(env, plan, this.open(phase));
      if (run.killedAt) {
        await this.killed(run, phase);
        continue;
      }
      this.settle(run, phase);
      if (run.code !== 0) await onFailure?.();
      assert.equal(run.code, 0, `rotate (${phase}, not killed):\n${run.stderr.slice(-4000)}`);
      await this.checks.afterKill(`the end of ${phase}`);
      return;
    }
  }

  /**
   * The step kinds killed inside a step — after its StepStarted line and before its StepDone —
   * with the last line before the kill one of `types` (`StepStarted` or `Waiting`: while it
   * applies or waits; `ChangeApplied`: once its apply is over).
   */
  kindsKilledInside(types: readonly string[]): Set<string> {
    return new Set(this.stepsKilledInside(types).map((id) => this.stepOf(id).kind));
  }

  /** The ids of the steps killed inside, as {@link kindsKilledInside} tells it. */
  stepsKilledInside(types: readonly string[]): string[] {
    return this.covered.filter((each) => {
      const [step, type] = this.landed.get(each)!.split("/");
      return step === each.step && types.includes(type);
    }).map((each) => each.step);
  }

  #find(id: string): ScheduledStep | undefined {
    return this.steps.find((step) => step.id === id);
  }
}
