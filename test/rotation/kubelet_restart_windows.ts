/**
 * The kubelets' own restart windows, as each kubelet reports them (status.json
 * `serving.downtimes`: from the moment a restart closed its serving port until it listened
 * again), and the serving probes' failures set against them: a failure is inside a window when
 * its request's span overlaps a window of its node's kubelet.
 * @module
 */
import type { KubeletStatus } from "../cluster/kubelet_status.ts";
import type { ServingFailure } from "./kubelet_serving_probe.ts";

/** A span in which a node's kubelet had its serving port closed by a restart (ms since epoch). */
export interface RestartWindow {
  readonly node: string;
  readonly from: number;
  /** When it listened again; the time of `statuses` when it still does not. */
  readonly to: number;
}

/** Every restart window the kubelets report, earliest first. */
export function restartWindows(statuses: readonly KubeletStatus[]): RestartWindow[] {
  return statuses.flatMap((status) =>
    (status.serving?.downtimes ?? []).map((d) => ({
      node: status.node,
      from: Date.parse(d.from),
      to: Date.parse(d.to ?? status.updatedAt),
    }))
  ).sort((a, b) => a.from - b.from);
}

/** Failures inside the kubelets' restart windows (counted by kind) and those outside. */
export interface FailuresByWindow {
  readonly inside: Record<string, number>;
  readonly outside: ServingFailure[];
}

/**
 * Sorts `failures` by whether their request overlapped a window of `windows` — of their own node
 * (a kubelet's), or with `anyNode` of any (an API server's, behind the load balancer).
 */
export function failuresByWindow(
  failures: readonly ServingFailure[],
  windows: readonly RestartWindow[],
  anyNode = false,
): FailuresByWindow {
  const inside: Record<string, number> = {};
  const outside: ServingFailure[] = [];
  for (const failure of failures) {
    const overlaps = windows.some((w) =>
      (anyNode || w.node === failure.node) && failure.startedAt <= w.to &&
      failure.endedAt >= w.from
    );
    if (overlaps) inside[failure.kind] = (inside[failure.kind] ?? 0) + 1;
    else outside.push(failure);
  }
  return { inside, outside };
}

/** Per node: how many windows, their total and the longest, e.g. `worker-1: 3 (412 ms, max 180 ms)`. */
export function windowFigures(windows: readonly RestartWindow[]): string {
  const byNode = Map.groupBy(windows, (w) => w.node);
  return [...byNode].map(([node, each]) => {
    const spans = each.map((w) => w.to - w.from);
    const total = spans.reduce((a, b) => a + b, 0);
    return `${node}: ${each.length} (${total} ms, max ${Math.max(...spans)} ms)`;
  }).join("; ") || "none";
}
