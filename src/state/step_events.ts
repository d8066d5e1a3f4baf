/**
 * The rotation's history where Kubernetes users look for it: a core/v1 Event on the progress
 * ConfigMap for every step transition (started, done, failed, gate) and for how each run ended,
 * so `kubectl describe configmap -n kube-system ca-rotator-<plan>` lists them. Events expire
 * with the API server's `--event-ttl` (1 h by default); the ConfigMap keeps the lasting record.
 * Never used in a dry run.
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import type { EventSink, RunEvent } from "../engine/events.ts";
import type { Printer } from "../engine/printer.ts";
import { progressConfigMapName } from "./progress_configmap.ts";

/** The component name Events are reported by. */
export const EVENT_COMPONENT = "ca-rotator";

/** The Event reasons, one per transition recorded. */
export type StepEventReason =
  | "StepStarted"
  | "StepDone"
  | "StepFailed"
  | "StepInterrupted"
  | "GateReached"
  | "RotationStopped";

/** A Kubernetes Event's reason, type and message for a run event; `undefined`: not recorded. */
export function kubernetesEventOf(
  event: RunEvent,
): { reason: StepEventReason; type: "Normal" | "Warning"; message: string } | undefined {
  switch (event.type) {
    case "StepStarted":
      return {
        reason: "StepStarted",
        type: "Normal",
        message:
          `[${event.step}] started ${event.stepKind} (phase ${event.phase}, attempt ${event.attempt})`,
      };
    case "StepDone":
      return {
        reason: "StepDone",
        type: "Normal",
        message: `[${event.step}] done: ${event.changes} changes in ${event.durationSeconds}s`,
      };
    case "StepFailed":
      return { reason: "StepFailed", type: "Warning", message: event.error };
    case "StepInterrupted":
      return {
        reason: "StepInterrupted",
        type: "Warning",
        message: `[${event.step}] interrupted: ${event.reason}`,
      };
    case "GateReached":
      return { reason: "GateReached", type: "Warning", message: event.message };
    case "RunFinished":
      return {
        reason: "RotationStopped",
        type: event.outcome === "failed" || event.outcome === "interrupted" ? "Warning" : "Normal",
        message: `run ${event.outcome === "done" ? "finished" : event.outcome}` +
          (event.next
            ? `; next: ${event.next.step} (phase ${event.next.phase})`
            : "; the plan is complete"),
      };
    default:
      return undefined;
  }
}

/** The API server refuses longer Event messages (events.k8s.io: 1 kB). */
const MAX_MESSAGE = 1000;

/**
 * Records Events on `kube-system/ca-rotator-<plan>` as `instance` (the run lock's holder).
 * A failed write is a warning on `printer`, never a failed run.
 */
export function configMapEventRecorder(
  cluster: ClusterApi,
  planName: string,
  instance: string,
  printer: Printer,
  now: () => Date = () => new Date(),
): EventSink {
  const configMap = progressConfigMapName(planName);
  let uid: string | undefined;
  let warned = false;
  return {
    async emit(event) {
      const recorded = kubernetesEventOf(event);
      if (!recorded) return;
      try {
        uid ??= (await cluster.read({
          apiVersion: "v1",
          kind: "ConfigMap",
          namespace: "kube-system",
          name: configMap,
        }))?.metadata?.uid;
        if (!uid) return; // nothing recorded yet: no object to attach the Event to
        const time = now().toISOString();
        const suffix = crypto.getRandomValues(new Uint8Array(6));
        await cluster.create<KubeObject>({
          apiVersion: "v1",
          kind: "Event",
          metadata: {
            name: `${configMap}.${now().getTime().toString(16)}${hex(suffix)}`,
            namespace: "kube-system",
            labels: { "app.kubernetes.io/managed-by": EVENT_COMPONENT },
          },
          involvedObject: {
            apiVersion: "v1",
            kind: "ConfigMap",
            namespace: "kube-system",
            name: configMap,
            uid,
          },
          reason: recorded.reason,
          type: recorded.type,
          message: recorded.message.slice(0, MAX_MESSAGE),
          source: { component: EVENT_COMPONENT },
          reportingComponent: EVENT_COMPONENT,
          reportingInstance: instance.slice(0, 128),
          action: recorded.reason,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        });
      } catch (error) {
        if (warned) return;
        warned = true;
        printer.warn(
          `Cannot record Events on kube-system/${configMap}: ${
            error instanceof Error ? error.message : String(error)
          } (the progress record is unaffected)`,
        );
      }
    },
  };
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
