/**
 * Cancellation by signal, as a cancelled CI job sends it: the first SIGINT or SIGTERM aborts the
 * run's signal, so the runner stops at its next safe point (between steps, or while it waits),
 * records the step as `interrupted` and the lock is released; a second signal exits at once.
 * @module
 */

/** The signals a run stops on, and the exit code of each (128 + its number, as shells report). */
export const INTERRUPT_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A signal a run stops on. */
export type InterruptSignal = keyof typeof INTERRUPT_EXIT_CODES;

/** The reason a run's signal aborts with at a SIGINT or SIGTERM, with the exit code it ends with. */
export class SignalInterrupt extends Error {
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
    this.name = "SignalInterrupt";
    this.exitCode = INTERRUPT_EXIT_CODES[signal];
  }
}

/** Listens for SIGINT and SIGTERM until `dispose`. */
export interface InterruptListener {
  /** Aborted (reason: a {@link SignalInterrupt}) at the first signal. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: InterruptSignal | undefined;
  dispose(): void;
}

/**
 * Starts listening. `onSecond` runs at a second signal (default: exit at once with that
 * signal's code).
 */
export function listenForInterrupts(
  warn: (message: string) => void,
  onSecond: (signal: InterruptSignal) => void = (signal) => Deno.exit(INTERRUPT_EXIT_CODES[signal]),
): InterruptListener {
  const controller = new AbortController();
  let received: InterruptSignal | undefined;
  const handlers = (Object.keys(INTERRUPT_EXIT_CODES) as InterruptSignal[]).map((name) => {
    const handler = () => {
      if (received) {
        warn(`${name} again: aborting at once`);
        onSecond(name);
        return;
      }
      received = name;
      warn(`${name}: stopping at the next safe point (send it again to abort at once)`);
      controller.abort(new SignalInterrupt(name));
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
