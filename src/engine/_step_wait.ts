/**
 * A step's waits, as the runner gives them in its context: `waitFor` polls a condition with a
 * growing delay until it holds, says it is still waiting (a text line, `Waiting` events), stops
 * at the run's signal and gives up at a deadline; `progress` reports a wait the step runs itself.
 * In a dry run both do nothing.
 * @module
 */
import { type RunEvent, waitCounts, waitDone, type WaitState } from "./events.ts";
import type { Printer } from "./printer.ts";
import type { StepContext } from "./step.ts";
import { InterruptedError } from "./step_error.ts";
import { seconds } from "./_event_seconds.ts";

/** How often a long wait says it is still waiting (text line and event). */
const REPORT_EVERY_MS = 10_000;

/** Whose waits they are, and where they report. */
export interface WaitScope {
  readonly stepId: string;
  readonly dryRun: boolean;
  /** When the step began (epoch ms): the `since` of the waits a step reports itself. */
  readonly stepBegan: number;
  readonly log: Printer;
  readonly emit: (event: RunEvent) => void;
  readonly now: () => Date;
  readonly signal?: AbortSignal;
}

/** The waiting members of a step's context. */
export function stepWaits(scope: WaitScope): Pick<StepContext, "waitFor" | "progress"> {
  const { dryRun, stepBegan, emit } = scope;
  return {
    waitFor: (description, condition, timeoutMs) =>
      dryRun ? Promise.resolve() : waitFor(scope, description, condition, timeoutMs),
    progress: (description, ready, total, deadline) => {
      if (dryRun) return;
      emit(waiting(scope, description, stepBegan, deadline, { ready, total }));
    },
  };
}

/** A `Waiting` event: since `since`, giving up at `deadline` (epoch ms), with its counts. */
function waiting(
  scope: WaitScope,
  description: string,
  since: number,
  deadline: number,
  counts: { ready: number; total: number } | undefined,
): RunEvent {
  return {
    type: "Waiting",
    step: scope.stepId,
    description,
    since: new Date(since).toISOString(),
    deadline: new Date(deadline).toISOString(),
    elapsedSeconds: seconds(scope.now().getTime() - since),
    ...counts,
  };
}

async function waitFor(
  scope: WaitScope,
  description: string,
  condition: () => Promise<WaitState>,
  timeoutMs: number,
): Promise<void> {
  const { log, emit, stepId, now, signal } = scope;
  const began = now().getTime();
  const deadline = began + timeoutMs;
  let lastReport = began;
  let lastCounts = "";
  let delay = 250;
  const report = (state: WaitState | undefined) => {
    const counts = state === undefined ? undefined : waitCounts(state);
    lastCounts = counts ? `${counts.ready}/${counts.total}` : "";
    emit(waiting(scope, description, began, deadline, counts));
  };
  log.info(`waiting for ${description}`);
  report(undefined);
  for (;;) {
    if (signal?.aborted) throw new InterruptedError(stepId, signal.reason);
    const state = await condition();
    if (waitDone(state)) return;
    const counts = waitCounts(state);
    const moved = counts !== undefined && `${counts.ready}/${counts.total}` !== lastCounts;
    const current = now().getTime();
    if (current > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${description}` +
          (counts ? ` (${counts.ready} of ${counts.total} ready)` : ""),
      );
    }
    if (current - lastReport > REPORT_EVERY_MS) {
      log.info(
        `still waiting for ${description}${counts ? ` (${counts.ready}/${counts.total})` : ""}`,
      );
      lastReport = current;
      report(state);
    } else if (moved) {
      report(state);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 2_000);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
