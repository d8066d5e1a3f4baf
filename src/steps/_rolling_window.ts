/**
 * A rolling window: at most `size` tasks in flight, the next one starting as soon as one
 * finishes. A task that fails stops new starts; the tasks already in flight run to their end and
 * are reported. Items may be grouped (e.g. the `order` namespaces of roll-workloads): a group
 * starts only once every task of the group before it has finished.
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
}

/** Options of {@link rollingWindow}. */
export interface WindowOptions<T> {
  /** The group of an item; items of a new group wait for every earlier task (a barrier). */
  readonly group?: (item: T) => number | string;
}

/**
 * Runs `task` over `items` in order with at most `size` in flight. Never throws on a task's
 * failure: the outcome names the failed items and the ones left unstarted.
 */
export function rollingWindow<T>(
  items: readonly T[],
  size: number,
  task: (item: T) => Promise<void>,
  options: WindowOptions<T> = {},
): Promise<WindowOutcome<T>> {
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`window size must be a positive whole number, got ${size}`);
  }
  const groupOf = options.group ?? (() => 0);
  const done: T[] = [];
  const failed: WindowFailure<T>[] = [];
  let next = 0;
  let inFlight = 0;
  let inFlightGroup: number | string | undefined;

  return new Promise((resolve) => {
    const finishIfIdle = () => {
      if (inFlight === 0 && (failed.length > 0 || next >= items.length)) {
        resolve({ done, failed, notStarted: items.slice(next) });
      }
    };
    const fill = () => {
      while (failed.length === 0 && next < items.length && inFlight < size) {
        const item = items[next];
        const group = groupOf(item);
        if (inFlight > 0 && group !== inFlightGroup) break; // the barrier between groups
        inFlightGroup = group;
        next++;
        inFlight++;
        let settled: Promise<void>;
        try {
          settled = task(item);
        } catch (error) {
          settled = Promise.reject(error);
        }
        settled.then(
          () => done.push(item),
          (error) => failed.push({ item, error }),
        ).finally(() => {
          inFlight--;
          fill();
        });
      }
      finishIfIdle();
    };
    fill();
  });
}
