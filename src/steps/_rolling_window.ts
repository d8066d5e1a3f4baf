/**
 * A rolling window: at most `size` tasks in flight, the next one starting as soon as one
 * finishes. A task that fails stops new starts; the tasks already in flight run to their end and
 * are reported. Items may be grouped (e.g. the `order` namespaces of roll-workloads): a group
 * starts only once every task of the group before it has finished. The size may change while it
 * runs (an adaptive window, see `_adaptive_window.ts`): it is read before each start, and each
 * task's end is reported with its duration and the tasks in flight.
 * @module
 */

/** One failed task: its item and why. */
export interface WindowFailure<T> {
  readonly item: T;
  readonly error: unknown;
}

/** How a window run ended: which items finished, which failed, which never started. */
export interface WindowOutcome<T> {
  readonly done: readonly T[];
  readonly failed: readonly WindowFailure<T>[];
  readonly notStarted: readonly T[];
  /** At the first failure: the tasks in flight (the failed one included) and the window's size. */
  readonly stoppedWith?: { readonly inFlight: number; readonly size: number };
  /** The most tasks that were ever in flight at once. */
  readonly peakInFlight: number;
}

/** How one task ended, as {@link WindowOptions.onSettled} is told. */
export interface TaskEnd {
  readonly ok: boolean;
  /** From the task's start to its end (milliseconds). */
  readonly ms: number;
  /** Tasks in flight when it ended, itself included. */
  readonly inFlight: number;
}

/** Options of {@link rollingWindow}. */
export interface WindowOptions<T> {
  /** The group of an item; items of a new group wait for every earlier task (a barrier). */
  readonly group?: (item: T) => number | string;
  /** Told of each task's end, before the window refills (an adaptive window resizes here). */
  readonly onSettled?: (item: T, end: TaskEnd) => void;
  /** The clock tasks are timed with (milliseconds); default `performance.now`. */
  readonly now?: () => number;
  /**
   * Told, at each beat of `every`, of each task still in flight and how long it has run: an
   * adaptive window shrinks at one that has run too long, before it ends.
   */
  readonly onRunning?: (item: T, ms: number) => void;
  /** Calls `beat` periodically until the returned stop is called; default every second. */
  readonly every?: (beat: () => void) => () => void;
}

/** Calls `beat` once a second until stopped. */
export function everySecond(beat: () => void): () => void {
  const id = setInterval(beat, 1000);
  return () => clearInterval(id);
}

/**
 * Runs `task` over `items` in order with at most `size` in flight (a number, or a function read
 * before each start: an adaptive window). Never throws on a task's failure: the outcome names
 * the failed items and the ones left unstarted.
 */
export function rollingWindow<T>(
  items: readonly T[],
  size: number | (() => number),
  task: (item: T) => Promise<void>,
  options: WindowOptions<T> = {},
): Promise<WindowOutcome<T>> {
  const sizeNow = () => {
    const value = typeof size === "function" ? size() : size;
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`window size must be a positive whole number, got ${value}`);
    }
    return value;
  };
  sizeNow();
  const groupOf = options.group ?? (() => 0);
  const now = options.now ?? (() => performance.now());
  const done: T[] = [];
  const failed: WindowFailure<T>[] = [];
  let stoppedWith: WindowOutcome<T>["stoppedWith"];
  let peakInFlight = 0;
  let next = 0;
  let inFlight = 0;
  let inFlightGroup: number | string | undefined;
  const running = new Map<number, { item: T; startedAt: number }>();
  const onRunning = options.onRunning;
  const stopWatch = onRunning
    ? (options.every ?? everySecond)(() => {
      for (const task of running.values()) onRunning(task.item, now() - task.startedAt);
    })
    : undefined;

  return new Promise((resolve) => {
    const finishIfIdle = () => {
      if (inFlight === 0 && (failed.length > 0 || next >= items.length)) {
        stopWatch?.();
        resolve({
          done,
          failed,
          notStarted: items.slice(next),
          ...(stoppedWith ? { stoppedWith } : {}),
          peakInFlight,
        });
      }
    };
    const ended = (index: number, startedAt: number, error?: { error: unknown }) => {
      const item = items[index];
      running.delete(index);
      const end = { ok: !error, ms: now() - startedAt, inFlight };
      if (error) {
        if (failed.length === 0) stoppedWith = { inFlight, size: sizeNow() };
        failed.push({ item, error: error.error });
      } else done.push(item);
      inFlight--;
      options.onSettled?.(item, end);
    };
    const fill = () => {
      while (failed.length === 0 && next < items.length && inFlight < sizeNow()) {
        const index = next;
        const item = items[index];
        const group = groupOf(item);
        if (inFlight > 0 && group !== inFlightGroup) break; // the barrier between groups
        inFlightGroup = group;
        next++;
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        const startedAt = now();
        running.set(index, { item, startedAt });
        let settled: Promise<void>;
        try {
          settled = task(item);
        } catch (error) {
          settled = Promise.reject(error);
        }
        settled.then(
          () => ended(index, startedAt),
          (error) => ended(index, startedAt, { error }),
        ).finally(fill);
      }
      finishIfIdle();
    };
    fill();
  });
}
