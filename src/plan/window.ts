/**
 * A rolling window's plan fields (roll-workloads and the plan's `workloads`, roll-kubelets):
 * `batchSize` is the window's size, or with `window: adaptive` its maximum; `windowStart` is
 * where an adaptive window starts. All three are tuning: changeable mid-rotation, not digested.
 * @module
 */
import { z } from "zod";
import { positiveInt } from "./fields.ts";
import type { RuleIssue } from "./step_format.ts";

/** How a window is sized. */
export const WINDOW_MODES = ["fixed", "adaptive"] as const;

/** A window's mode. */
export type WindowMode = typeof WINDOW_MODES[number];

/**
 * Tuning: `fixed` (`batchSize` at once, as always) or `adaptive`: from `windowStart`, one more
 * for each healthy completion, half at a slow or failed one, at most `batchSize`.
 */
export const windowField = z.enum(WINDOW_MODES);

/** Tuning: where an adaptive window starts (default 1: the first alone, a canary). */
export const windowStartField = positiveInt;

/** The adaptive window's start when the plan sets none. */
export const DEFAULT_WINDOW_START = 1;

/** A window's fields as a plan gives them (after defaults). */
export interface WindowFields {
  readonly batchSize: number;
  /** Absent: fixed. */
  readonly window?: WindowMode;
  readonly windowStart?: number;
}

/**
 * Pure: the window's fields that contradict each other: a `windowStart` above `batchSize` (its
 * maximum), or a `windowStart` with a fixed window (it would be ignored). `where` says which
 * object set each field, for the message (e.g. `workloads.batchSize`).
 */
export function windowIssues(
  fields: WindowFields,
  where: { readonly batchSize: string; readonly windowStart: string },
  path: (string | number)[] = ["windowStart"],
): RuleIssue[] {
  if (fields.windowStart === undefined) return [];
  if (fields.window !== "adaptive") {
    return [{
      path,
      message: `${where.windowStart} applies to window: adaptive only (this window is fixed)`,
    }];
  }
  if (fields.windowStart > fields.batchSize) {
    return [{
      path,
      message: `${where.windowStart} (${fields.windowStart}) is above ${where.batchSize} ` +
        `(${fields.batchSize}), the adaptive window's maximum`,
    }];
  }
  return [];
}
