/**
 * The cross-field rules of a plan, checked once its fields are well-formed: unique step ids,
 * steps in phase order, each kind in its phase, CAs declared and staged before use, no old-CA
 * removal before the kubelet client-rotation gate.
 * @module
 */
import { CA_NAMES, type CaName } from "./ca.ts";
import { type NodeGroup, nodeNames } from "./nodes.ts";
import { type Phase, phaseIndex, PHASES } from "./phase.ts";
import type { Plan, PlanStep } from "./schema.ts";
import type { StepKind } from "./steps.ts";

/** A rule broken, at a path in the plan. */
export interface RuleIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** The phases each kind may run in (kinds not listed may run in any phase). */
export const KIND_PHASES: Partial<Record<StepKind, readonly Phase[]>> = {
  "distribute-ca": ["trust"],
  "activate-ca": ["switch"],
  "reissue-leaves": ["switch"],
  "verify-kubelet-rotation": ["switch", "finalize"],
  "remove-old-ca": ["finalize"],
};

/** Every rule the plan breaks; empty when it is sound. */
export function planRules(plan: Plan): RuleIssue[] {
  return [...nodeRules(plan), ...stepRules(plan)];
}

function nodeRules(plan: Plan): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const seen = new Map<string, string>();
  const groups: [string, NodeGroup | undefined][] = [
    ["controlPlane", plan.nodes.controlPlane],
    ["workers", plan.nodes.workers],
  ];
  for (const [groupName, group] of groups) {
    if (!group) continue;
    const base = ["nodes", groupName];
    const listField = group.driver === "ssh" ? "hosts" : "roots";
    if (groupName === "controlPlane" && nodeNames(group).length === 0) {
      issues.push({ path: [...base, listField], message: "must list at least one node" });
    }
    if (group.driver === "local" && group.names && group.names.length !== group.roots.length) {
      issues.push({
        path: [...base, "names"],
        message: `gives ${group.names.length} names for ${group.roots.length} roots`,
      });
      continue;
    }
    if (
      group.driver === "local" && group.addresses && group.addresses.length > 0 &&
      group.addresses.length !== group.roots.length
    ) {
      issues.push({
        path: [...base, "addresses"],
        message: `gives ${group.addresses.length} addresses for ${group.roots.length} roots`,
      });
    }
    nodeNames(group).forEach((name, index) => {
      const path = group.driver === "ssh"
        ? [...base, "hosts", index, "name"]
        : group.names
        ? [...base, "names", index]
        : [...base, "roots", index];
      const first = seen.get(name);
      if (first) {
        issues.push({ path, message: `duplicate node name "${name}" (already ${first})` });
      } else {
        seen.set(name, `in nodes.${groupName}`);
      }
    });
  }
  return issues;
}

function stepRules(plan: Plan): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const ids = new Map<string, number>();
  const staged = new Set<CaName>();
  const activated = new Set<CaName>();
  const controlPlaneNodes = nodeNames(plan.nodes.controlPlane);
  const declared = CA_NAMES.filter((ca) => plan.cas[ca] !== undefined);
  let latest = { phase: 0, index: -1 };
  let gated = false;
  let gateReported = false;

  plan.steps.forEach((step, index) => {
    const at = (...rest: (string | number)[]) => ["steps", index, ...rest];
    const push = (path: (string | number)[], message: string) => issues.push({ path, message });

    const first = ids.get(step.id);
    if (first !== undefined) {
      push(at("id"), `duplicate step id "${step.id}" (already used by steps[${first}])`);
    } else {
      ids.set(step.id, index);
    }

    const phase = phaseIndex(step.phase);
    if (phase < latest.phase) {
      push(
        at("phase"),
        `a ${step.phase} step after a ${PHASES[latest.phase]} step (steps[${latest.index}]): ` +
          `steps run in phase order ${PHASES.join(" → ")}`,
      );
    } else {
      latest = { phase, index };
    }

    const allowed = KIND_PHASES[step.kind];
    if (allowed && !allowed.includes(step.phase)) {
      push(at("phase"), `a ${step.kind} step belongs in phase ${allowed.join(" or ")}`);
    }

    if ("ca" in step) {
      if (plan.cas[step.ca] === undefined) {
        push(
          at("ca"),
          `CA "${step.ca}" is not declared in cas (declared: ${declared.join(", ") || "none"})`,
        );
      }
      const needs = (set: Set<CaName>, kind: StepKind) => {
        if (!set.has(step.ca)) {
          push(at("kind"), `${step.kind} for ${step.ca} needs an earlier ${kind} step for it`);
        }
      };
      if (step.kind === "distribute-ca") staged.add(step.ca);
      if (step.kind === "activate-ca") {
        needs(staged, "distribute-ca");
        activated.add(step.ca);
      }
      if (step.kind === "reissue-leaves" || step.kind === "remove-old-ca") {
        needs(activated, "activate-ca");
      }
    }

    if (step.kind === "verify-kubelet-rotation") gated = true;
    if (
      step.phase === "finalize" && !gated && !gateReported && plan.cas.cluster !== undefined &&
      step.kind !== "verify"
    ) {
      gateReported = true;
      push(
        at("kind"),
        `${step.kind} runs in finalize before the kubelet client-rotation gate: put a ` +
          `verify-kubelet-rotation step first (kubelets still holding old-CA client ` +
          `certificates would be cut off the API)`,
      );
    }

    const trustSet = trustSetField(step);
    if (trustSet && step.phase === "trust" && trustSet.value === "new") {
      push(
        at(trustSet.field),
        `"new" in the trust phase would drop the old CA while it still issues every ` +
          `certificate; use "bundle"`,
      );
    }

    for (const issue of paramRules(plan, step, controlPlaneNodes)) {
      push(at(...issue.path), issue.message);
    }
  });
  return issues;
}

function trustSetField(step: PlanStep): { field: string; value: string } | undefined {
  switch (step.kind) {
    case "update-kubeconfigs":
    case "update-cluster-info":
      return { field: "caData", value: step.caData };
    case "roll-kubelets":
      return { field: "clientCA", value: step.clientCA };
    case "wait-root-ca-configmaps":
      return { field: "expect", value: step.expect };
    default:
      return undefined;
  }
}

function paramRules(plan: Plan, step: PlanStep, controlPlaneNodes: string[]): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const subset = (listed: readonly string[], within: readonly string[], what: string) => {
    listed.forEach((name, index) => {
      if (!within.includes(name)) {
        issues.push({ path: ["ifPresent", index], message: `"${name}" is not one of ${what}` });
      }
    });
  };
  switch (step.kind) {
    case "set-component-flags":
      subset(step.ifPresent, Object.keys(step.flags), "this step's flags");
      break;
    case "update-kubeconfigs":
      subset(step.ifPresent, step.files, "this step's files");
      if (step.on === "workers" && !plan.nodes.workers) {
        issues.push({ path: ["on"], message: "the plan has no nodes.workers" });
      }
      break;
    case "reissue-leaves":
      subset(step.ifPresent, [...step.certs, ...step.kubeconfigs], "this step's certs/kubeconfigs");
      if (step.certs.length === 0 && step.kubeconfigs.length === 0) {
        issues.push({ path: [], message: "must re-issue at least one of certs, kubeconfigs" });
      }
      if (step.ca !== "cluster" && step.kubeconfigs.length > 0) {
        issues.push({
          path: ["kubeconfigs"],
          message: `kubeconfig client certificates are issued by the cluster CA, not ${step.ca}`,
        });
      }
      break;
    case "restart-component":
      if (step.nodes !== "all") {
        step.nodes.forEach((name, index) => {
          if (!controlPlaneNodes.includes(name)) {
            issues.push({
              path: ["nodes", index],
              message: `unknown control-plane node "${name}" (nodes: ${
                controlPlaneNodes.join(", ")
              })`,
            });
          }
        });
      }
      break;
    case "verify":
      if (phaseIndex(step.expect) > phaseIndex(step.phase)) {
        issues.push({
          path: ["expect"],
          message: `cannot expect the state after ${step.expect} in the ${step.phase} phase`,
        });
      }
      break;
  }
  return issues;
}
