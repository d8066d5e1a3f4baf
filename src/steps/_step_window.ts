/**
 * A step's rolling window as the plan sizes it: fixed (`batchSize` at once) or adaptive (AIMD
 * from `windowStart` up to `batchSize`, see `_adaptive_window.ts`), each resize logged with its
 * reason, so a step's output shows the window as it changes.
 * @module
 */
import { AdaptiveWindow, type WindowResize } from "./_adaptive_window.ts";
import type { TaskEnd, WindowOutcome } from "./_rolling_window.ts";
import { DEFAULT_WINDOW_START, type WindowFields } from "../plan/window.ts";

/** What `rollingWindow` needs of a step's window, and how to describe it. */
export interface StepWindow<T> {
  /** The size now: the fixed size, or the adaptive window's current one. */
  readonly size: () => number;
  /** Told of each task's end: the adaptive window resizes and logs why. */
  readonly onSettled?: (item: T, end: TaskEnd) => void;
  /** Told of each task in flight and how long it has run: the adaptive window shrinks at an overdue one. */
  readonly onRunning?: (item: T, ms: number) => void;
  /** `at most 5 at once`, or `an adaptive window from 1 to at most 20 at once`. */
  readonly text: string;
}

/** Options of {@link stepWindow}. */
export interface StepWindowOptions<T> {
  /** Each task's timeout (milliseconds): a task that uses half of it is slow. */
  readonly timeoutMs: number;
  /** The item's name in the log. */
  readonly name: (item: T) => string;
  /** The item's class: slowness is judged against the median of its class. */
  readonly taskClass?: (item: T) => string;
  /** Where resizes are told, e.g. `window 2 → 3: Deployment/a/web completed in 2.1 s`. */
  readonly log: (message: string) => void;
}

/** The window of a step with these plan fields. */
export function stepWindow<T>(fields: WindowFields, options: StepWindowOptions<T>): StepWindow<T> {
  if (fields.window !== "adaptive") {
    return { size: () => fields.batchSize, text: `at most ${fields.batchSize} at once` };
  }
  const start = Math.min(fields.windowStart ?? DEFAULT_WINDOW_START, fields.batchSize);
  const window = new AdaptiveWindow({ start, max: fields.batchSize, timeoutMs: options.timeoutMs });
  const logResize = (resize: WindowResize | undefined) => {
    if (resize) options.log(`window ${resize.from} → ${resize.to}: ${resize.reason}`);
  };
  return {
    size: () => window.size,
    onRunning(item, ms) {
      logResize(window.running(options.name(item), options.taskClass?.(item) ?? "", ms));
    },
    onSettled(item, end) {
      const name = options.name(item);
      logResize(
        end.ok
          ? window.completed(name, options.taskClass?.(item) ?? "", end.ms, end.inFlight)
          : window.failed(name),
      );
    },
    text: `an adaptive window from ${start} to at most ${fields.batchSize} at once`,
  };
}

/** Pure: `; stopped new starts with 3 in flight (window 4)`, for a window run's error. */
export function stoppedText(outcome: Pick<WindowOutcome<unknown>, "stoppedWith">): string {
  const stop = outcome.stoppedWith;
  return stop ? `; stopped new starts with ${stop.inFlight} in flight (window ${stop.size})` : "";
}
