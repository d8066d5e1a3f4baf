/**
 * `roll-kubelets`: on every node: the kubelet's `clientCAFile` and its kubeconfig's
 * `certificate-authority-data` → the bundle or the new CA; then restart the kubelet and wait
 * until its node is Ready. Control-plane nodes one at a time, first (they host the API servers:
 * never two of their kubelets down at once, whatever the window); then the workers in a rolling
 * window of `batchSize` nodes — or, with `window: adaptive`, from `windowStart` up to `batchSize`
 * (`_adaptive_window.ts`). The next node starts as soon as one is back, and a node that does not
 * come back stops new starts.
 * @module
 */
import { mapBounded, NODE_PARALLELISM } from "../engine/bounded.ts";
import { z } from "zod";
import type { Change } from "../engine/change.ts";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { kubeletConfigFacts, setKubeletClientCAFile } from "../formats/kubelet_config.ts";
import { kubeconfigCaData, setKubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { applyFileChanges, type DesiredFile, fileChanges, nodeNamed } from "./file_changes.ts";
import { trustPem } from "./trust_sets.ts";
import { sameCertificates } from "../pki/mod.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { trustSetField } from "./_step_fields.ts";
import { caPaths, kubeletRestartPendingPath } from "../plan/node_paths.ts";
import { rollingWindow, type WindowOutcome } from "./_rolling_window.ts";
import { stepWindow, stoppedText } from "./_step_window.ts";
import { windowField, windowIssues, windowStartField } from "../plan/window.ts";
import { kubeletBack, restartKubelet } from "./_kubelet_restart.ts";
import { restoreKubelets } from "./restore_kubelets.ts";

/**
 * `roll-kubelets` parameters: on every node (control-plane nodes one at a time, then the workers
 * in a rolling window): the kubelet config's `clientCAFile` and `kubelet.conf`'s
 * `certificate-authority-data` → the bundle or the new CA; restart the kubelet
 * (`layout.kubeletRestart`); wait until the node is Ready.
 */
export const RollKubeletsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("roll-kubelets"),
  clientCA: trustSetField,
  /**
   * Tuning: the workers' window: at most this many of their kubelets restarting at once
   * (adaptive: its maximum). Control-plane nodes are always one at a time.
   */
  batchSize: positiveInt.default(1),
  /** Tuning: the workers' window: `fixed` (`batchSize` at once) or `adaptive` (AIMD). */
  window: windowField.optional(),
  /** Tuning: where the workers' adaptive window starts (default 1). */
  windowStart: windowStartField.optional(),
  /** Tuning: how long to wait for each node to be Ready. */
  healthTimeoutSeconds: positiveInt.default(300),
});

type Step = z.infer<typeof RollKubeletsStep>;

interface Observed {
  readonly nodes: readonly string[];
  readonly files: readonly DesiredFile[];
  /** Nodes whose files an earlier run changed before it was stopped short of the restart. */
  readonly restartPending: readonly string[];
}

function allNodes(ctx: StepContext) {
  return [...ctx.controlPlane, ...ctx.workers];
}

/**
 * Pure: the order kubelets restart in: the control-plane nodes among `restarts` (`first`, one
 * at a time), then the workers (`then`, in the step's window); each in the order given.
 */
export function kubeletRollOrder(
  restarts: readonly string[],
  controlPlane: ReadonlySet<string>,
): { first: string[]; then: string[] } {
  return {
    first: restarts.filter((name) => controlPlane.has(name)),
    then: restarts.filter((name) => !controlPlane.has(name)),
  };
}

function rollError(outcome: WindowOutcome<string>, alsoLeft: readonly string[]): Error {
  const left = [...outcome.notStarted, ...alsoLeft];
  const notRestarted = left.length > 0 ? ` (${left.length} not restarted: ${left.join(", ")})` : "";
  return new Error(
    outcome.failed.map(({ error }) => error instanceof Error ? error.message : String(error))
      .join("; ") + notRestarted + stoppedText(outcome),
  );
}

/** The roll-kubelets step kind. */
export const rollKubelets = defineStepKind<Step, Observed>({
  kind: "roll-kubelets",
  schema: RollKubeletsStep,
  undo: { by: [restoreKubelets] },
  drift: {
    reapply:
      "its apply rewrites only the drifted nodes' files and restarts their kubelets in the rolling window, waiting for Ready (kubeadm upgrade node rewrites clientCAFile)",
  },
  tuning: ["batchSize", "window", "windowStart", "healthTimeoutSeconds"],
  rules: (step) =>
    windowIssues(step, { batchSize: "batchSize", windowStart: "windowStart" }, ["windowStart"]),
  trustSetField: "clientCA",
  cas: () => ["cluster"],
  // With `new`, the control-plane nodes' client CA file is ca.crt itself, which observe would
  // overwrite with the new CA: ca.crt must already be the new CA (beside its key), not the old.
  needsEarlier: ["activate-ca"],
  needsEarlierFor: (step) => step.clientCA === "new" ? ["activate-ca"] : [],

  async observe(ctx, step) {
    const layout = ctx.layout;
    const trusted = await trustPem(ctx, "cluster", step.clientCA);
    const paths = caPaths(layout, "cluster");
    const caFile = step.clientCA === "bundle" ? paths.bundle : paths.cert;
    // Nodes are read in parallel (bounded); the files keep the nodes' order.
    const perNode = await mapBounded(allNodes(ctx), NODE_PARALLELISM, async (node) => {
      const files: DesiredFile[] = [];
      const config = await node.readFile(layout.kubeletConfig);
      const kubeconfig = await node.readFile(layout.kubeletKubeconfig);
      if (config === undefined) throw new Error(`${node.name}: ${layout.kubeletConfig} is missing`);
      if (kubeconfig === undefined) {
        throw new Error(`${node.name}: ${layout.kubeletKubeconfig} is missing`);
      }
      const currentCaFile = await node.readFile(caFile);
      files.push({
        node: node.name,
        path: caFile,
        current: currentCaFile,
        desired: currentCaFile !== undefined && await sameCertificates(currentCaFile, trusted)
          ? currentCaFile
          : trusted,
        reason: "the CAs the kubelet trusts for client certificates",
      });
      const facts = kubeletConfigFacts(config, `${node.name}:${layout.kubeletConfig}`);
      files.push({
        node: node.name,
        path: layout.kubeletConfig,
        current: config,
        desired: facts.clientCAFile === caFile
          ? config
          : setKubeletClientCAFile(config, caFile, layout.kubeletConfig),
        reason: `authentication.x509.clientCAFile → ${caFile}`,
      });
      const held = kubeconfigCaData(kubeconfig, `${node.name}:${layout.kubeletKubeconfig}`);
      const trusts = (await Promise.all(held.map((caData) => sameCertificates(caData, trusted))))
        .every(Boolean);
      files.push({
        node: node.name,
        path: layout.kubeletKubeconfig,
        current: kubeconfig,
        desired: trusts
          ? kubeconfig
          : setKubeconfigCaData(kubeconfig, trusted, layout.kubeletKubeconfig),
        mode: 0o600,
        reason: "the CAs the kubelet trusts for the API server",
      });
      const pending = await node.readFile(kubeletRestartPendingPath(layout)) !== undefined;
      return { node: node.name, files, pending };
    });
    const files = perNode.flatMap((each) => each.files);
    const restartPending = perNode.filter((each) => each.pending).map((each) => each.node);
    return { nodes: allNodes(ctx).map((node) => node.name), files, restartPending };
  },

  diff(observed) {
    const changes: Change[] = [];
    for (const name of observed.nodes) {
      const files = fileChanges(observed.files.filter((file) => file.node === name));
      const pending = observed.restartPending.includes(name);
      if (files.length === 0 && !pending) continue;
      changes.push(...files, {
        action: "restart",
        target: { type: "component", node: name, component: "kubelet" },
        reason: files.length > 0
          ? "the kubelet reads its CAs at start"
          : "an earlier run changed its files and stopped before it restarted the kubelet",
      });
    }
    return changes;
  },

  async apply(ctx, step, changes) {
    const nodes = allNodes(ctx);
    const pendingPath = kubeletRestartPendingPath(ctx.layout);
    const restarts = changes.flatMap((change) =>
      change.action === "restart" && change.target.type === "component" ? [change.target.node] : []
    );
    const controlPlane = new Set(ctx.controlPlane.map((node) => node.name));
    const { first, then } = kubeletRollOrder(restarts, controlPlane);
    let back = 0;
    const roll = async (name: string) => {
      const node = nodeNamed(nodes, name);
      const restartedAt = Date.now() - 1000;
      // Marked before the files change, unmarked once the kubelet restarted: a run killed in
      // between leaves the mark, and the next run restarts this kubelet although its files
      // are already right.
      await node.writeFile(pendingPath, `${ctx.stepId}\n`, { mode: 0o600 });
      await applyFileChanges(
        nodes,
        changes.filter((change) => change.target.type === "file" && change.target.node === name),
      );
      await restartKubelet(node, ctx.layout);
      await node.removeFile(pendingPath);
      await ctx.waitFor(
        `the kubelet of ${name} to be back (Ready, Lease renewed)`,
        () => kubeletBack(ctx, name, restartedAt),
        step.healthTimeoutSeconds * 1000,
      );
      back++;
      if (!ctx.dryRun) ctx.log.info(`kubelets rolled: ${back}/${restarts.length}`);
    };
    // Control-plane nodes host the API servers: one at a time, whatever the window.
    const controlPlaneOutcome = await rollingWindow(first, 1, roll);
    if (controlPlaneOutcome.failed.length > 0) {
      throw rollError(controlPlaneOutcome, then);
    }
    const window = stepWindow<string>(step, {
      timeoutMs: step.healthTimeoutSeconds * 1000,
      name: (name) => `the kubelet of ${name}`,
      log: (message) => ctx.log.info(message),
    });
    if (then.length > 0 && first.length > 0 && !ctx.dryRun) {
      ctx.log.info(`control-plane kubelets rolled; workers: ${window.text}`);
    }
    const outcome = await rollingWindow(then, window.size, roll, {
      onSettled: window.onSettled,
      onRunning: window.onRunning,
    });
    if (outcome.failed.length > 0) throw rollError(outcome, []);
  },

  async verify(ctx) {
    for (const name of allNodes(ctx).map((node) => node.name)) {
      if (!(await kubeletBack(ctx, name, 0))) {
        throw new Error(`node ${name} is not Ready after its kubelet restart`);
      }
    }
  },
});
