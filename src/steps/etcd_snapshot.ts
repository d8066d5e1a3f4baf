/**
 * `etcd-snapshot`: before the etcd CA changes, a snapshot of etcd on one control-plane node, by
 * a command the plan gives (etcd's snapshot is a gRPC Maintenance call: `etcdctl snapshot save`,
 * or whatever the cluster's operators use), run there through the node driver. The snapshot is
 * kept on that node, at the path the plan names.
 * @module
 */
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import { defineStepKind } from "../engine/step.ts";
import { stepBase } from "../plan/step_format.ts";
import { absolutePath, nodeName, nonEmpty } from "../plan/fields.ts";
import { isFromCluster, nodeNames } from "../plan/nodes.ts";
import { nodeNamed } from "./file_changes.ts";

/**
 * `etcd-snapshot` parameters: the command (run on `node`, by default the first control-plane
 * node) that writes an etcd snapshot to `path` on that node.
 */
export const EtcdSnapshotStep = z.strictObject({
  ...stepBase,
  kind: z.literal("etcd-snapshot"),
  /** The control-plane node the command runs on; absent: the first. */
  node: nodeName.optional(),
  /** The command, as an argument list, e.g. `["etcdctl", …, "snapshot", "save", "<path>"]`. */
  command: z.array(nonEmpty).min(1, "must name a command"),
  /** Where the command writes the snapshot on the node (an argument of the command names it). */
  path: absolutePath,
});

type Step = z.infer<typeof EtcdSnapshotStep>;

/** What the step would run, and where. */
export interface SnapshotPlan {
  readonly node: string;
  readonly path: string;
  readonly command: readonly string[];
}

/** Pure: the snapshot as a change: a file created on the node by the command. */
export function snapshotChanges(plan: SnapshotPlan): Change[] {
  return [{
    action: "create",
    target: { type: "file", node: plan.node, path: plan.path },
    after: `etcd snapshot, written by: ${plan.command.join(" ")}\n`,
    reason: "etcd snapshot before its CA changes",
  }];
}

/** The etcd-snapshot step kind. */
export const etcdSnapshot = defineStepKind<Step, SnapshotPlan>({
  kind: "etcd-snapshot",
  schema: EtcdSnapshotStep,
  undo: {
    kept: "the snapshot stays on its node: it is the way back should etcd itself be lost",
  },
  drift: { none: "a snapshot is a moment, not a state: nothing to re-check" },
  phases: ["trust"],
  cas: () => ["etcd"],
  rules(step, plan) {
    const issues: { path: (string | number)[]; message: string }[] = [];
    if (!step.command.some((arg) => arg.includes(step.path))) {
      issues.push({
        path: ["command"],
        message: `no argument names the snapshot path ${step.path}`,
      });
    }
    if (step.node !== undefined && !isFromCluster(plan.nodes.controlPlane)) {
      const known = nodeNames(plan.nodes.controlPlane);
      if (!known.includes(step.node)) {
        issues.push({
          path: ["node"],
          message: `unknown control-plane node "${step.node}" (nodes: ${known.join(", ")})`,
        });
      }
    }
    return issues;
  },

  observe(ctx, step) {
    const node = step.node === undefined
      ? ctx.controlPlane[0]
      : nodeNamed(ctx.controlPlane, step.node);
    if (node === undefined) throw new Error("no control-plane node to take the snapshot on");
    return Promise.resolve({ node: node.name, path: step.path, command: step.command });
  },

  diff: (plan) => snapshotChanges(plan),

  async apply(ctx, step, changes) {
    const target = changes[0].target;
    if (target.type !== "file") return;
    const node = nodeNamed(ctx.controlPlane, target.node);
    const result = await node.run(step.command);
    if (result.code !== 0) {
      throw new Error(
        `${node.name}: the snapshot command failed (exit ${result.code}): ` +
          `${(result.stderr || result.stdout).trim().split("\n").slice(-3).join(" / ")}`,
      );
    }
    if (!ctx.dryRun) ctx.log.info(`etcd snapshot taken: kept at ${node.name}:${step.path}`);
  },

  async verify(ctx, step) {
    const node = step.node === undefined
      ? ctx.controlPlane[0]
      : nodeNamed(ctx.controlPlane, step.node);
    const snapshot = await node.readFile(step.path);
    if (snapshot === undefined || snapshot.length === 0) {
      throw new Error(`${node.name}: no snapshot at ${step.path} after the command`);
    }
  },
});
