/**
 * The annotations ca-rotator writes, each named once: on static-pod manifests (which step
 * restarted a component) and on workloads' pod templates (which step and which rotation rolled
 * them).
 * @module
 */
import { compareText } from "./_namespace_selection.ts";

/** The manifest annotation that records which step last restarted a component. */
export const RESTARTED_BY = "ca-rotator.dev/restarted-by";

/** The pod-template annotation naming the step that rolled a workload. */
export const ROLLED_BY_ANNOTATION = "ca-rotator.dev/rolled-by";

/**
 * The pod-template annotation naming the new CA(s) of the rotation that rolled it, so that a
 * later rotation with the same step ids rolls the workload again.
 */
export const ROLLED_FOR_ANNOTATION = "ca-rotator.dev/rolled-for";

/** The {@link ROLLED_FOR_ANNOTATION} value: the new CAs' fingerprints, abbreviated. */
export function rotationMark(fingerprints: Readonly<Record<string, string>>): string {
  return Object.entries(fingerprints).sort(([a], [b]) => compareText(a, b))
    .map(([name, print]) => `${name}:${print.slice(0, 16)}`).join(",");
}
