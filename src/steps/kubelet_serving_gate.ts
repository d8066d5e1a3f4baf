/**
 * `kubelet-serving-gate`: the gate before the old CA leaves the verifiers of kubelet serving
 * certificates — the API server's `--kubelet-certificate-authority` (logs, exec, port-forward go
 * through it) and metrics-server and the like through `kube-root-ca.crt`. With
 * `serverTLSBootstrap: true` the kubelets serve certificates from `kubernetes.io/kubelet-serving`
 * CSRs, which nothing approves by itself, and rotate them only at 70–90 % of their lifetime. For
 * every Node it reads the issuer of the leaf its kubelet endpoint presents (and of
 * `kubelet-server-current.pem` on the node), approves pending kubelet-serving CSRs when the plan
 * says so and only for the Node's own names and addresses, forces a rotation where the plan
 * allows, waits up to `wait`, and holds the run (exit code 3) naming each node still on the old
 * CA.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { GateClosedError } from "../engine/step_error.ts";
import { servingGateMessage, type ServingVerdict, servingVerdict } from "../kubelet/mod.ts";
import { stepBase } from "../plan/step_format.ts";
import { parseDuration } from "../plan/duration.ts";
import { durationText } from "../plan/fields.ts";
import { oldCaPem } from "./trust_sets.ts";
import {
  approvalDecisions,
  approveServingCsr,
  gatherServingFacts,
  installServingCertificate,
  nodesByName,
  requestServingCertificate,
  servingCsrs,
  servingTrust,
} from "./_kubelet_serving.ts";

/** `kubelet-serving-gate` parameters. */
export const KubeletServingGateStep = z.strictObject({
  ...stepBase,
  kind: z.literal("kubelet-serving-gate"),
  /**
   * Tuning: approve pending `kubernetes.io/kubelet-serving` CSRs whose requester is the node they name
   * and whose names are all the Node's own names and addresses (nothing else is approved).
   */
  approveServingCsrs: z.boolean().default(false),
  /** Tuning: how long to wait for the serving certificates, e.g. `5m` (absent: check once). */
  wait: durationText.optional(),
  /**
   * Tuning: give each node still on the old CA a new serving certificate through node access (a
   * new key and CSR for its own names, approved under the same check; the kubelet restarted).
   */
  forceRotation: z.boolean().default(false),
});

type Step = z.infer<typeof KubeletServingGateStep>;

interface Observed {
  readonly verdicts: ServingVerdict[];
}

async function look(ctx: StepContext, step: Step, forced: Set<string>, act: boolean) {
  const trust = servingTrust(ctx.cas.get("cluster").certPem, await oldCaPem(ctx, "cluster"));
  const nodes = await nodesByName(ctx);
  const csrs = await servingCsrs(ctx);
  const decisions = await approvalDecisions(csrs, nodes, forced);
  for (const decision of decisions) {
    if (decision.problem) {
      ctx.log.warn(`not approving kubelet-serving CSR ${decision.csr}: ${decision.problem}`);
    } else if (!step.approveServingCsrs && !forced.has(decision.csr)) {
      ctx.log.info(
        `kubelet-serving CSR ${decision.csr} of ${decision.node} is pending; it passes the ` +
          "check (approveServingCsrs: true would approve it)",
      );
    } else if (!act) {
      ctx.log.info(`would approve kubelet-serving CSR ${decision.csr} of ${decision.node}`);
    } else {
      await approveServingCsr(ctx, decision);
      ctx.log.info(`approved kubelet-serving CSR ${decision.csr} of ${decision.node}`);
    }
  }
  const facts = await gatherServingFacts(ctx, nodes, csrs, trust);
  return { nodes, verdicts: facts.map(servingVerdict) };
}

/** The kubelet-serving-gate step kind. */
export const kubeletServingGate = defineStepKind<Step, Observed>({
  kind: "kubelet-serving-gate",
  schema: KubeletServingGateStep,
  undo: {
    nothing: "a gate of the finalize phase, which a rollback never reaches; the serving " +
      "certificates it approves or forces are the new CA's, which every verifier trusts since trust",
  },
  drift: {
    none: "a gate: the serving certificates it approves or forces are the kubelets' own, which " +
      "they rotate on their own later",
  },
  phases: ["finalize"],
  tuning: ["approveServingCsrs", "wait", "forceRotation"],
  cas: () => ["cluster"],
  rules(step) {
    return step.forceRotation && !step.approveServingCsrs
      ? [{
        path: ["forceRotation"],
        message: "a forced rotation's CSR must be approved: set approveServingCsrs: true",
      }]
      : [];
  },

  async observe(ctx, step) {
    const { verdicts } = await look(ctx, step, new Set(), false);
    for (const v of verdicts) ctx.log.info(`${v.node}: ${v.message}`);
    const message = servingGateMessage(verdicts);
    if (ctx.dryRun) {
      ctx.log.info(
        message
          ? `the gate would hold now${
            step.forceRotation ? " (until forced rotations)" : ""
          }: ${message}`
          : "every kubelet serves with a certificate of the new CA (or of neither cluster CA)",
      );
    }
    return { verdicts };
  },

  diff: () => [],

  async apply() {},

  async verify(ctx, step) {
    if (ctx.dryRun) return;
    const deadline = Date.now() + (step.wait ? parseDuration(step.wait) : 0);
    const forced = new Set<string>();
    const forcedNodes = new Set<string>();
    const pendingInstalls: Promise<void>[] = [];
    const access = new Map([...ctx.controlPlane, ...ctx.workers].map((n) => [n.name, n]));
    for (;;) {
      const { nodes, verdicts } = await look(ctx, step, forced, true);
      const blocking = verdicts.filter((v) => v.status === "blocking");
      ctx.progress(
        "every kubelet to serve with a certificate of the new CA",
        verdicts.length - blocking.length,
        verdicts.length,
        deadline,
      );
      if (!blocking.length) break;
      let forcedNow = false;
      if (step.forceRotation) {
        for (const v of blocking) {
          const node = access.get(v.node);
          const object = nodes.get(v.node);
          if (forcedNodes.has(v.node) || v.issuer !== "old" || !node || !object) continue;
          forcedNodes.add(v.node);
          forcedNow = true;
          const request = await requestServingCertificate(ctx, node, object);
          forced.add(request.name);
          ctx.log.info(
            `${v.node}: sent kubelet-serving CSR ${request.name} as ${request.requester}`,
          );
          pendingInstalls.push(
            installServingCertificate(ctx, node, request.name, request.keyPem, 120_000).then(
              (file) => ctx.log.info(`${v.node}: installed ${file} and restarted the kubelet`),
            ),
          );
        }
        // Approve the forced CSRs at once (the next look would, a round later).
        if (forced.size) await look(ctx, step, forced, true);
        await Promise.all(pendingInstalls.splice(0));
      }
      if (forcedNow) continue; // look again at once: the forced kubelets have restarted
      if (Date.now() >= deadline) {
        throw new GateClosedError(ctx.stepId, servingGateMessage(verdicts)!);
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    ctx.log.info(
      "every kubelet serves with a certificate of the new CA (or of neither cluster CA)",
    );
  },
});
