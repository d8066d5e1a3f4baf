/**
 * An adaptive window (AIMD, as TCP's congestion window): it starts at `start`, grows by one for
 * each task that completes healthy while the window is in use (at least half of it in flight),
 * up to `max`, and halves (at least 1) at a task that completes slow or fails. So a healthy
 * cluster rolls at its own pace, bounded by the plan's maximum, and a sick one has few rollouts
 * in flight when it stops.
 *
 * A completion is **slow** when it took longer than {@link SLOW_TIMEOUT_FRACTION} of the task's
 * timeout, or — once {@link SLOW_MIN_SAMPLES} tasks of its class (a workload kind; nodes) have
 * completed — longer than {@link SLOW_FACTOR} times their median and at least
 * {@link SLOW_MARGIN_MS} more than it (a few seconds' jitter on a fast cluster is not sickness).
 * A task still in flight that has already run that long is **overdue**: the window halves at
 * once (once per task) and stops growing until every overdue task has ended — a rollout that
 * never becomes available signals nothing until its deadline, and the window must not keep
 * starting rollouts meanwhile.
 * Everything here is pure arithmetic on the durations it is told; the rolling window times tasks.
 * @module
 */

/** A completion slower than this many times the median of its class so far is slow. */
export const SLOW_FACTOR = 3;
/** Completions of a class needed before its median judges slowness. */
export const SLOW_MIN_SAMPLES = 3;
/** A slow completion is also at least this much longer than the median (milliseconds). */
export const SLOW_MARGIN_MS = 10_000;
/** A completion that used more than this share of its timeout is slow, whatever the median. */
export const SLOW_TIMEOUT_FRACTION = 0.5;

/** How a plan sizes a rolling window: fixed at `max`, or adaptive from `start` up to `max`. */
export interface WindowSettings {
  readonly adaptive: boolean;
  /** The adaptive window's first size (≤ max); ignored by a fixed window. */
  readonly start: number;
  /** The fixed size, or the adaptive window's maximum. */
  readonly max: number;
}

/** One change of the window's size and why. */
export interface WindowResize {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

/** Pure: the next size after a healthy completion: one more, at most `max`. */
export function grown(size: number, max: number): number {
  return Math.min(max, size + 1);
}

/** Pure: the next size after a slow or failed task: half, rounded down, at least 1. */
export function shrunk(size: number): number {
  return Math.max(1, Math.floor(size / 2));
}

/** Pure: the median of durations (milliseconds); `undefined` for none. */
export function medianOf(durations: readonly number[]): number | undefined {
  if (durations.length === 0) return undefined;
  const sorted = [...durations].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const secondsText = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Pure: why a completion that took `ms` is slow, or `undefined` when it is not. `earlier` are the
 * durations of the completions of its class before it; `timeoutMs` the task's own timeout.
 */
export function slowReason(
  ms: number,
  earlier: readonly number[],
  timeoutMs: number,
  verb = "took",
): string | undefined {
  if (ms > timeoutMs * SLOW_TIMEOUT_FRACTION) {
    return `${verb} ${secondsText(ms)}, more than ${
      SLOW_TIMEOUT_FRACTION * 100
    } % of its timeout ` +
      `(${secondsText(timeoutMs)})`;
  }
  if (earlier.length < SLOW_MIN_SAMPLES) return undefined;
  const median = medianOf(earlier)!;
  if (ms > SLOW_FACTOR * median && ms - median >= SLOW_MARGIN_MS) {
    return `${verb} ${secondsText(ms)}, more than ${SLOW_FACTOR}× the median so far ` +
      `(${secondsText(median)})`;
  }
  return undefined;
}

/** Options of {@link AdaptiveWindow}. */
export interface AdaptiveWindowOptions {
  readonly start: number;
  readonly max: number;
  /** Each task's own timeout (milliseconds): a task using half of it is slow. */
  readonly timeoutMs: number;
}

/**
 * The state of one adaptive window: its size, and the durations of the healthy completions by
 * class. Told of each task's end, it answers the resize (if any) for the caller to print.
 */
export class AdaptiveWindow {
  #size: number;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #durations = new Map<string, number[]>();
  /** Tasks in flight that have run long enough to be slow, already counted. */
  readonly #overdue = new Set<string>();
  #failed = false;

  constructor(options: AdaptiveWindowOptions) {
    for (const [name, value] of [["start", options.start], ["max", options.max]] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`window ${name} must be a positive whole number, got ${value}`);
      }
    }
    if (options.start > options.max) {
      throw new Error(`window start ${options.start} is above its maximum ${options.max}`);
    }
    this.#size = options.start;
    this.#max = options.max;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The current size: at most this many tasks in flight. */
  get size(): number {
    return this.#size;
  }

  /** The maximum the window grows to. */
  get max(): number {
    return this.#max;
  }

  /**
   * A task of `taskClass` completed after `ms` with `inFlight` tasks in flight (itself included):
   * healthy grows the window when it was in use (and nothing has failed: no new starts then, and
   * no task is overdue), slow halves it (unless it was already counted as overdue).
   */
  completed(
    what: string,
    taskClass: string,
    ms: number,
    inFlight: number,
  ): WindowResize | undefined {
    const earlier = this.#durations.get(taskClass) ?? [];
    const slow = slowReason(ms, earlier, this.#timeoutMs);
    this.#durations.set(taskClass, [...earlier, ms]);
    if (this.#overdue.delete(what)) return undefined; // halved when it became overdue
    if (slow) return this.#resize(shrunk(this.#size), `${what} ${slow}`);
    if (this.#failed || this.#overdue.size > 0) return undefined;
    if (inFlight * 2 < this.#size) return undefined; // not the bound
    return this.#resize(grown(this.#size, this.#max), `${what} completed in ${secondsText(ms)}`);
  }

  /**
   * A task of `taskClass` is still in flight after `ms`: once that is slow for its class, it is
   * overdue and the window halves, once per task.
   */
  running(what: string, taskClass: string, ms: number): WindowResize | undefined {
    if (this.#overdue.has(what)) return undefined;
    const earlier = this.#durations.get(taskClass) ?? [];
    const slow = slowReason(ms, earlier, this.#timeoutMs, "still in flight after");
    if (!slow) return undefined;
    this.#overdue.add(what);
    return this.#resize(shrunk(this.#size), `${what} ${slow}`);
  }

  /** A task failed: the window halves (new starts stop anyway). */
  failed(what: string): WindowResize | undefined {
    this.#failed = true;
    this.#overdue.delete(what);
    return this.#resize(shrunk(this.#size), `${what} failed`);
  }

  #resize(to: number, reason: string): WindowResize | undefined {
    const from = this.#size;
    this.#size = to;
    return to === from ? undefined : { from, to, reason };
  }
}
