/**
 * Cancellation by signal, counted as a person or a CI runner sends it: the first SIGINT or SIGTERM
 * aborts the run's signal, so the runner stops at its next safe point (between steps, or while it
 * waits), records the step as `interrupted` and the lock is released; a second signal exits at
 * once.
 *
 * One signal sent to a process group reaches every process in it: a cancelled CI job, `timeout`
 * or Ctrl-C signals the group of `deno task rotate`, and `deno task` forwards the signal to its
 * child as well, so ca-rotator receives two copies (or one: the runtime may merge copies it has
 * not handled yet) within a millisecond or so. Copies of the first signal that arrive within
 * {@link SIGNAL_COPY_WINDOW_MS} (1 s) of it are therefore one request to stop. 1 s is far longer
 * than a forwarded copy takes even on a loaded machine (about 1 ms here) and shorter than a
 * deliberate second request: a person reads the "stopping" line before pressing again, and CI
 * runners escalate seconds apart (GitHub Actions: SIGINT, then SIGTERM 7.5 s later). The same
 * signal after the window, or a different signal at any time, is a second request and exits at
 * once.
 * @module
 */

/** The signals a run stops on, and the exit code of each (128 + its number, as shells report). */
export const INTERRUPT_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A signal a run stops on. */
export type InterruptSignal = keyof typeof INTERRUPT_EXIT_CODES;

/** Copies of the first signal within this many milliseconds of it are the same request. */
export const SIGNAL_COPY_WINDOW_MS = 1000;

/** The reason a run's signal aborts with at a SIGINT or SIGTERM, with the exit code it ends with. */
export class SignalInterrupt extends Error {
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
    this.name = "SignalInterrupt";
    this.exitCode = INTERRUPT_EXIT_CODES[signal];
  }
}

/**
 * What a signal is: the `first` request to stop, a `copy` of it (the same signal within the
 * window), or a second request (`again`).
 */
export type SignalCount =
  | { kind: "first" }
  | { kind: "copy"; afterMs: number }
  | { kind: "again"; first: InterruptSignal };

/**
 * Counts signals as requests: the first; copies of it within `windowMs` of it; anything else
 * after it is a second request. `at` is a monotonic time in milliseconds.
 */
export function signalCounter(
  windowMs: number = SIGNAL_COPY_WINDOW_MS,
): (signal: InterruptSignal, at: number) => SignalCount {
  let first: { signal: InterruptSignal; at: number } | undefined;
  return (signal, at) => {
    if (!first) {
      first = { signal, at };
      return { kind: "first" };
    }
    const afterMs = at - first.at;
    return signal === first.signal && afterMs < windowMs
      ? { kind: "copy", afterMs }
      : { kind: "again", first: first.signal };
  };
}

/** Listens for SIGINT and SIGTERM until `dispose`. */
export interface InterruptListener {
  /** Aborted (reason: a {@link SignalInterrupt}) at the first signal. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: InterruptSignal | undefined;
  dispose(): void;
}

/** How {@link listenForInterrupts} counts and what it does at a second request. */
export interface InterruptOptions {
  /** Runs at a second request (default: exit at once with that signal's code). */
  onSecond?: (signal: InterruptSignal) => void;
  /** Default {@link SIGNAL_COPY_WINDOW_MS}. */
  copyWindowMs?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

/** Starts listening. */
export function listenForInterrupts(
  warn: (message: string) => void,
  {
    onSecond = (signal) => Deno.exit(INTERRUPT_EXIT_CODES[signal]),
    copyWindowMs = SIGNAL_COPY_WINDOW_MS,
    now = () => performance.now(),
  }: InterruptOptions = {},
): InterruptListener {
  const controller = new AbortController();
  const count = signalCounter(copyWindowMs);
  const windowText = `${copyWindowMs / 1000} s`;
  let received: InterruptSignal | undefined;
  const handlers = (Object.keys(INTERRUPT_EXIT_CODES) as InterruptSignal[]).map((name) => {
    const handler = () => {
      const counted = count(name, now());
      switch (counted.kind) {
        case "first":
          received = name;
          warn(
            `${name}: stopping at the next safe point (send it again, ${windowText} or more later, ` +
              "to abort at once)",
          );
          controller.abort(new SignalInterrupt(name));
          return;
        case "copy":
          warn(
            `${name} again ${Math.round(counted.afterMs)} ms after the first: taken as the same ` +
              `request (a signal to a process group reaches each of its processes)`,
          );
          return;
        case "again":
          warn(
            `${name} ${counted.first === name ? "again" : `after ${counted.first}`}: ` +
              "aborting at once",
          );
          onSecond(name);
          return;
      }
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}
