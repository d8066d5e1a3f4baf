/**
 * Which workloads `roll-workloads` steps roll and how: the plan's `workloads` defaults, and a
 * step's settings with those defaults applied.
 * @module
 */
import { z } from "zod";
import { namespacePattern, positiveInt } from "./fields.ts";
import { windowField, windowIssues, windowStartField } from "./window.ts";

/** The workload kinds `roll-workloads` can roll. */
export const WORKLOAD_KINDS = ["Deployment", "DaemonSet", "StatefulSet"] as const;

/** Namespace selection: glob patterns to include, then to exclude. */
export const NamespaceSelectorSchema = z.strictObject({
  include: z.array(namespacePattern).min(1, "must include at least one pattern").default(["*"]),
  exclude: z.array(namespacePattern).default([]),
});

/** Namespace include/exclude glob patterns, as a plan gives them (defaults applied). */
export type NamespaceSelector = z.infer<typeof NamespaceSelectorSchema>;

/** The `workloads` section: defaults for every `roll-workloads` step. */
export const WorkloadsSchema = z.strictObject({
  kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1, "must name at least one kind").default([
    "Deployment",
    "DaemonSet",
  ]),
  namespaces: NamespaceSelectorSchema.prefault({}),
  /** Tuning: workloads rolled at once; with `window: adaptive`, the most at once. */
  batchSize: positiveInt.default(5),
  /** Tuning: `fixed` (`batchSize` at once; absent means fixed) or `adaptive` (AIMD, up to `batchSize`). */
  window: windowField.optional(),
  /** Tuning: where an adaptive window starts (default 1). */
  windowStart: windowStartField.optional(),
  /** Tuning: how long to wait for each rollout. */
  timeoutSeconds: positiveInt.default(600),
  /** Tuning: namespaces rolled first, in this order. */
  order: z.array(namespacePattern).default(["kube-system"]),
}).superRefine((section, ctx) => {
  for (
    const issue of windowIssues(section, { batchSize: "batchSize", windowStart: "windowStart" })
  ) {
    ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  }
});

/** The resolved settings of one `roll-workloads` step. */
export type RollWorkloadsSettings = z.infer<typeof WorkloadsSchema>;

/** The fields a `roll-workloads` step may set to override the plan's `workloads`. */
export type RollWorkloadsOverrides = Partial<RollWorkloadsSettings>;

/** A `roll-workloads` step's settings: its own fields, else the plan's `workloads` defaults. */
export function rollWorkloadsSettings(
  defaults: RollWorkloadsSettings,
  step: RollWorkloadsOverrides,
): RollWorkloadsSettings {
  const window = step.window ?? defaults.window;
  // A step that makes the window fixed does not inherit the section's adaptive start.
  const windowStart = window === "adaptive"
    ? step.windowStart ?? defaults.windowStart
    : step.windowStart;
  return {
    kinds: step.kinds ?? defaults.kinds,
    namespaces: step.namespaces ?? defaults.namespaces,
    batchSize: step.batchSize ?? defaults.batchSize,
    ...(window !== undefined ? { window } : {}),
    ...(windowStart !== undefined ? { windowStart } : {}),
    timeoutSeconds: step.timeoutSeconds ?? defaults.timeoutSeconds,
    order: step.order ?? defaults.order,
  };
}
