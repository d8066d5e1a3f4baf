/**
 * On a terminal, a long wait is one line rewritten in place — the step, what it waits for, the
 * counts, the time elapsed and the deadline — instead of a new line every ten seconds. Other log
 * lines clear it first and bring it back after. Without a terminal nothing of this is drawn.
 * @module
 */
import type { EventSink, WaitingEvent } from "../engine/events.ts";
import type { Printer } from "../engine/printer.ts";

/** `m:ss` (or `h:mm:ss`) of a number of seconds. */
export function clock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The live line of a wait at time `now`, cut to `columns`. */
export function renderWaitLine(event: WaitingEvent, now: Date, columns = 120): string {
  const elapsed = (now.getTime() - Date.parse(event.since)) / 1000;
  const left = (Date.parse(event.deadline) - now.getTime()) / 1000;
  const counts = event.total !== undefined ? ` ${event.ready}/${event.total}` : "";
  const line = `[${event.step}] waiting for ${event.description}:${counts} · ${clock(elapsed)} ` +
    `elapsed · deadline ${event.deadline.slice(11, 19)}Z (${clock(left)} left)`;
  return line.length > columns ? line.slice(0, columns - 1) + "…" : line;
}

const CLEAR = "\r\x1b[2K";

/**
 * A live line on a terminal: `sink` draws waits, `printer` wraps the log so its lines are
 * printed above the live line. `write` writes to the terminal as is.
 */
export function liveWaitLine(
  printer: Printer,
  write: (text: string) => void,
  options: { columns?: () => number; now?: () => Date; refreshMs?: number } = {},
): { sink: EventSink; printer: Printer; stop(): void } {
  const now = options.now ?? (() => new Date());
  let waiting: WaitingEvent | undefined;
  let drawn = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    if (!waiting) return;
    write(CLEAR + renderWaitLine(waiting, now(), (options.columns?.() ?? 120) - 1));
    drawn = true;
  };
  const clear = () => {
    if (drawn) write(CLEAR);
    drawn = false;
  };
  const stop = () => {
    clear();
    waiting = undefined;
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  const around = (print: (message: string) => void) => (message: string) => {
    clear();
    print(message);
    draw();
  };
  return {
    sink: {
      emit(event) {
        if (event.type === "Waiting") {
          waiting = event;
          if (timer === undefined) {
            const interval = setInterval(draw, options.refreshMs ?? 1000);
            Deno.unrefTimer(interval);
            timer = interval;
          }
          draw();
        } else if (event.type !== "ChangeApplied") {
          stop();
        }
      },
    },
    printer: {
      info: around((message) => printer.info(message)),
      warn: around((message) => printer.warn(message)),
      error: around((message) => printer.error(message)),
    },
    stop,
  };
}
