/**
 * The closing line of a dry run: how many files, objects, restarts and workloads would change.
 * @module
 */

import { type Change, hasChanges, targetName } from "../engine/change.ts";

/** Counts of what a list of changes would touch. */
export interface ChangeSummary {
  /** Whether anything is left to do, as `hasChanges` decides it. */
  readonly changed: boolean;
  /** Distinct node files created, updated or deleted. */
  readonly files: number;
  /** Distinct API objects created, updated or deleted. */
  readonly objects: number;
  /** Component restarts: each restart counts, as each one is a disruption. */
  readonly restarts: number;
  /** Distinct components restarted. */
  readonly components: number;
  /** Distinct workloads rolled. */
  readonly workloads: number;
  /** Create changes to files and objects. */
  readonly creates: number;
  /** Update changes to files and objects. */
  readonly updates: number;
  /** Delete changes to files and objects. */
  readonly deletes: number;
}

/**
 * Counts what `changes` would touch, leaving out changes with nothing to do. A file or object
 * changed by several steps counts once; so does a workload rolled twice. Restarts count each
 * time (`components` counts them once).
 */
export function summarize(changes: readonly Change[]): ChangeSummary {
  const files = new Set<string>();
  const objects = new Set<string>();
  const components = new Set<string>();
  const workloads = new Set<string>();
  const counts = { restarts: 0, creates: 0, updates: 0, deletes: 0 };
  for (const change of changes) {
    if (!hasChanges([change])) continue;
    const name = targetName(change.target);
    switch (change.target.type) {
      case "file":
        files.add(name);
        break;
      case "object":
        objects.add(`${change.target.apiVersion} ${name}`);
        break;
      case "component":
        components.add(name);
        break;
      case "workload":
        workloads.add(name);
        break;
    }
    switch (change.action) {
      case "create":
        counts.creates++;
        break;
      case "update":
        counts.updates++;
        break;
      case "delete":
        counts.deletes++;
        break;
      case "restart":
        counts.restarts++;
        break;
      case "roll":
        break;
    }
  }
  return {
    changed: hasChanges(changes),
    files: files.size,
    objects: objects.size,
    restarts: counts.restarts,
    components: components.size,
    workloads: workloads.size,
    creates: counts.creates,
    updates: counts.updates,
    deletes: counts.deletes,
  };
}

/**
 * The closing line: `Plan: 12 files, 4 objects, 9 restarts, 23 workloads to change.`, or
 * `No changes.` when nothing is left to do.
 */
export function renderSummary(summary: ChangeSummary): string {
  if (!summary.changed) return "No changes.";
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  return `Plan: ${count(summary.files, "file")}, ${count(summary.objects, "object")}, ${
    count(summary.restarts, "restart")
  }, ${count(summary.workloads, "workload")} to change.`;
}
