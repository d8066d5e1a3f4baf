/**
 * `rotate --output jsonl`: one JSON object per line on stdout while the run goes on — the
 * engine's events, then one `Summary` line — each with `apiVersion`, `kind` and the time it was
 * written. docs/events.md is the schema.
 * @module
 */
import type { EventSink, RunEvent } from "../engine/events.ts";
import type { ChangeSummary } from "../diff/mod.ts";
import type { Phase } from "../plan/phase.ts";

/** The `apiVersion` of every line; a breaking change to the schema bumps it. */
export const EVENTS_API_VERSION = "ca-rotator.dev/v1";

/** The `kind` of every line. */
export const EVENTS_KIND = "RotateEvent";

/** The last line of a stream: how the command ends, whatever happened before. */
export interface SummaryLine {
  readonly type: "Summary";
  readonly outcome: "done" | "gate" | "failed" | "interrupted";
  readonly exitCode: number;
  readonly dryRun: boolean;
  /** What changed (planned, in a dry run), as the text summary counts it. */
  readonly summary?: ChangeSummary;
  readonly gate?: string;
  /** Why the command failed, and in which step when a step failed. */
  readonly error?: string;
  readonly step?: string;
  readonly next?: { readonly step: string; readonly phase: Phase };
}

/** Anything a line can carry. */
export type StreamRecord = RunEvent | SummaryLine;

// No record may carry a field of the line's head (it would overwrite it): a compile error if one does.
const _noHeadClash:
  [Extract<StreamRecord, { kind: unknown } | { apiVersion: unknown } | { time: unknown }>] extends
    [never] ? true : false = true;

/** One line: the record with the schema's head and `time` (RFC 3339). */
export function eventLine(record: StreamRecord, time: Date): string {
  return JSON.stringify({
    apiVersion: EVENTS_API_VERSION,
    kind: EVENTS_KIND,
    time: time.toISOString(),
    ...record,
  });
}

/** A sink that writes each event as one line through `write` (which adds nothing). */
export function jsonLinesSink(
  write: (text: string) => void,
  now: () => Date = () => new Date(),
): EventSink & { summary(line: SummaryLine): void } {
  return {
    emit: (event) => write(eventLine(event, now()) + "\n"),
    summary: (line) => write(eventLine(line, now()) + "\n"),
  };
}
