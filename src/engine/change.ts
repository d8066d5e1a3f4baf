/**
 * The closed set of changes a step can propose, as `kubectl diff` and a Terraform plan show
 * them: one action on one target, with the text before and after where there is text.
 * @module
 */

/** What a change does to its target. */
export type ChangeAction = "create" | "update" | "delete" | "restart" | "roll";

/** A file on a node (control-plane or worker), by its absolute path on that node. */
export interface FileTarget {
  readonly type: "file";
  readonly node: string;
  readonly path: string;
  /** File mode to write with (0o600 for keys). */
  readonly mode?: number;
}

/** A Kubernetes API object. */
export interface ObjectTarget {
  readonly type: "object";
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** A control-plane component (static pod) on one node, or a node's kubelet. */
export interface ComponentTarget {
  readonly type: "component";
  readonly node: string;
  readonly component: string;
}

/** A workload (Deployment, DaemonSet, StatefulSet) whose pods are rolled. */
export interface WorkloadTarget {
  readonly type: "workload";
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Its desired replicas (Deployments, StatefulSets): one replica is unavailable during a roll. */
  readonly replicas?: number;
}

/** Anything a change can act on. */
export type ChangeTarget = FileTarget | ObjectTarget | ComponentTarget | WorkloadTarget;

/** One change that would converge a step. */
export interface Change {
  readonly action: ChangeAction;
  readonly target: ChangeTarget;
  /** Text before the change (file content, or the object as YAML); absent when created. */
  readonly before?: string;
  /** Text after the change; absent when deleted. */
  readonly after?: string;
  /** True when the text holds key material: it is masked wherever it is rendered. */
  readonly sensitive?: boolean;
  /** Why the change is needed, in a few words. */
  readonly reason?: string;
}

/** Says whether anything is left to do: the one place that decides it. */
export function hasChanges(changes: readonly Change[]): boolean {
  return changes.some((change) =>
    change.action === "restart" || change.action === "roll" || change.before !== change.after
  );
}

/** A short, stable, human name for a change's target, e.g. `cp-1:/etc/kubernetes/pki/ca.crt`. */
export function targetName(target: ChangeTarget): string {
  switch (target.type) {
    case "file":
      return `${target.node}:${target.path}`;
    case "object":
      return `${target.kind}/${target.namespace ? `${target.namespace}/` : ""}${target.name}`;
    case "component":
      return `${target.node}/${target.component}`;
    case "workload":
      return `${target.kind}/${target.namespace}/${target.name}`;
  }
}
