/**
 * The gate before old-CA removal as a built report states it: the message of a closed gate,
 * the nodes a forced rotation would unblock, and whether waiting could still open it.
 * @module
 */
import type { VerifierReport } from "./report.ts";

/**
 * The message of a closed gate, naming every node that is not on the new CA yet (blocking
 * nodes first); `undefined` when the gate is open.
 */
export function gateMessage(report: VerifierReport): string | undefined {
  if (report.gateOpen) return undefined;
  const pending = report.nodes.filter((n) => n.verdict.status !== "ok");
  const blocking = pending.filter((n) => n.verdict.status === "blocking");
  const waiting = pending.filter((n) => n.verdict.status === "will-rotate");
  const parts: string[] = [
    `${pending.length} of ${report.nodes.length} kubelet(s) do not authenticate with a ` +
    "certificate of the new CA yet; removing the old CA now would cut them off",
  ];
  if (blocking.length) {
    parts.push(
      `blocking: ${
        blocking.map((n) =>
          `${n.name} (${(n.verdict as { reason: string }).reason}: ${n.verdict.message})`
        )
          .join(", ")
      }`,
    );
  }
  if (waiting.length) {
    parts.push(`rotating: ${waiting.map((n) => `${n.name} (${n.verdict.message})`).join(", ")}`);
  }
  const forceable = blocking.filter((n) => n.verdict.status === "blocking" && n.verdict.forceable);
  if (forceable.length) {
    parts.push(
      `force their rotation with --force-rotation (plan: forceRotation: true): ${
        forceable.map((n) => n.name).join(", ")
      }`,
    );
  }
  return parts.join("; ");
}

/** The nodes whose rotation would resolve their blocking verdict by force. */
export function forceableNodes(report: VerifierReport): string[] {
  return report.nodes.filter((n) => n.verdict.status === "blocking" && n.verdict.forceable)
    .map((n) => n.name);
}

/** Whether waiting longer could still open the gate (some node rotates or may rotate by the deadline). */
export function worthWaiting(report: VerifierReport): boolean {
  return report.nodes.some((n) =>
    n.verdict.status === "will-rotate" || (n.verdict.status === "blocking" && n.verdict.waitable)
  );
}
