/**
 * Every static pod besides the control-plane components that mounts kubeconfigs or the PKI
 * directory (src/steps/static_pod_consumers.ts) is the plan's: restarted after the files it
 * mounts change (`staticPods.restart`, the `restart-static-pods` steps) or accepted with the
 * reason (`staticPods.accept`). Such a pod reads `admin.conf` or the CA once, at start: one nobody
 * restarts keeps trusting the old CA only and is cut off at the switch, and keeps an old-CA client
 * certificate that the API servers refuse after finalize. So a run lists them, refuses to start
 * while one is in neither list (bad input, nothing changed: before the trust phase's first change
 * as before the switch's), and holds before a later phase when one has appeared. Reads only.
 * @module
 */
import type { NodeAccess } from "../engine/node_access.ts";
import type { StaticPodTarget } from "../engine/step.ts";
import type { Phase } from "../plan/phase.ts";
import type { Plan } from "../plan/schema.ts";
import { staticPodDecision, type StaticPods } from "../plan/static_pods.ts";
import { findStaticPodConsumers, type StaticPodConsumer } from "../steps/static_pod_consumers.ts";

/** Pure: the found static pods the plan neither restarts nor accepts. */
export function unlistedStaticPods(
  found: readonly StaticPodConsumer[],
  staticPods: StaticPods,
): StaticPodConsumer[] {
  return found.filter((pod) => staticPodDecision(staticPods, pod.name).action === "unlisted");
}

function described(pod: StaticPodConsumer): string {
  return `${pod.name} on ${pod.node} (${pod.manifest}; mounts ${pod.mounts.join(", ")})`;
}

/** Pure: what to say of the unlisted static pods. */
export function staticPodMessage(unlisted: readonly StaticPodConsumer[]): string {
  const one = unlisted.length === 1;
  return `${one ? "a static pod" : "static pods"} the plan does not list mount${
    one ? "s" : ""
  } kubeconfigs or the PKI directory: ${unlisted.map(described).join("; ")} — add ${
    one ? "it" : "each"
  } to staticPods.restart (restarted by the plan's restart-static-pods steps after the files ` +
    "change) or to staticPods.accept with the reason (it reads those files at start: left " +
    "running, it keeps trusting the old CA only and is cut off at the switch)";
}

/**
 * Pure: one line per found static pod — its node, what it mounts and what the plan does with it —
 * and one per name of `staticPods.restart` found on no node.
 */
export function staticPodLines(
  found: readonly StaticPodConsumer[],
  staticPods: StaticPods,
): string[] {
  const lines = found.map((pod) => {
    const decision = staticPodDecision(staticPods, pod.name);
    const verdict = decision.action === "restart"
      ? "restarted by the plan (staticPods.restart)"
      : decision.action === "accept"
      ? `accepted (staticPods.accept: ${decision.reason})`
      : "NOT LISTED: the run refuses to change anything until the plan restarts or accepts it";
    return `static pod ${described(pod)}: ${verdict}`;
  });
  for (const name of staticPods.restart) {
    if (!found.some((pod) => pod.name === name)) {
      lines.push(
        `static pod ${name} (staticPods.restart) was found on no node mounting kubeconfigs or ` +
          "the PKI directory: nothing to restart",
      );
    }
  }
  return lines;
}

/** Pure: the pods the `restart-static-pods` steps restart, where they were found. */
export function restartTargets(
  found: readonly StaticPodConsumer[],
  staticPods: StaticPods,
): StaticPodTarget[] {
  return found.filter((pod) => staticPodDecision(staticPods, pod.name).action === "restart")
    .map(({ node, name, namespace, manifest }) => ({ node, name, namespace, manifest }));
}

/** The static pods on the nodes that mount kubeconfigs or the PKI directory. */
export function staticPodsOnNodes(
  nodes: readonly NodeAccess[],
  plan: Pick<Plan, "layout">,
): Promise<StaticPodConsumer[]> {
  return findStaticPodConsumers(nodes, plan.layout);
}

/**
 * The runner's phase gate: before a later phase of the run begins, the reason to hold when a
 * static pod the plan does not list has appeared since the run started, on the run's nodes as
 * of that phase start (`nodes`: joined Nodes included).
 */
export function staticPodGate(
  nodes: () => readonly NodeAccess[],
  plan: Pick<Plan, "layout" | "staticPods">,
): (phase: Phase) => Promise<string | undefined> {
  return async (phase) => {
    const unlisted = unlistedStaticPods(await staticPodsOnNodes(nodes(), plan), plan.staticPods);
    return unlisted.length === 0
      ? undefined
      : `holding before phase "${phase}": ${staticPodMessage(unlisted)}; then run again`;
  };
}
