/**
 * The cross-field rules of a plan, checked once its fields are well-formed: unique step ids,
 * steps in phase order, each kind in its phases, CAs declared, the kinds a step needs earlier
 * present for every CA it acts on (e.g. staged before activated), no old-CA removal before the
 * kubelet client-rotation gate, and each kind's own rules. What a kind requires comes from its
 * {@link StepFormat}; nothing here names a kind.
 * @module
 */
import { CA_NAMES, type CaName } from "./ca.ts";
import { type NodeGroup, nodeNames } from "./nodes.ts";
import { phaseIndex, PHASES } from "./phase.ts";
import type { Plan, PlanSettings } from "./schema.ts";
import {
  type RuleIssue,
  stepCas,
  type StepFields,
  type StepFormat,
  stepNeedsEarlier,
} from "./step_format.ts";

export type { RuleIssue } from "./step_format.ts";

/** Every rule the plan breaks; empty when it is sound. */
export function planRules<S extends StepFields>(
  plan: Plan<S>,
  kinds: readonly StepFormat<S>[],
): RuleIssue[] {
  return [...nodeRules(plan), ...stepRules(plan, kinds)];
}

function nodeRules(plan: PlanSettings): RuleIssue[] {
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
    if (
      group.driver === "ssh" && (group.hosts === undefined) === (group.fromCluster === undefined)
    ) {
      issues.push(
        group.hosts === undefined
          ? {
            path: base,
            message: "an ssh group needs hosts (listed) or fromCluster (Nodes found by selector)",
          }
          : {
            path: [...base, "fromCluster"],
            message: "give either hosts or fromCluster, not both",
          },
      );
      continue;
    }
    if (group.driver === "ssh" && group.fromCluster) continue; // its names come from the cluster
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

function stepRules<S extends StepFields>(
  plan: Plan<S>,
  kinds: readonly StepFormat<S>[],
): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const formats = new Map(kinds.map((kind) => [kind.kind, kind]));
  const ids = new Map<string, number>();
  /** The kinds seen so far for each CA, for `needsEarlier`. */
  const seenForCa = new Map<CaName, Set<string>>();
  const declared = CA_NAMES.filter((ca) => plan.cas[ca] !== undefined);
  let latest = { phase: 0, index: -1 };
  let gated = false;
  let gateReported = false;

  plan.steps.forEach((step, index) => {
    const format = formats.get(step.kind);
    if (!format) return; // the schema has already refused an unknown kind
    const at = (...rest: (string | number)[]) => ["steps", index, ...rest];
    const push = (path: (string | number)[], message: string) => issues.push({ path, message });

    for (const field of format.earlierStepFields ?? []) {
      const named = (step as unknown as Record<string, unknown>)[field];
      if (typeof named === "string" && !ids.has(named)) {
        push(at(field), `must name an earlier step of the plan (no earlier step "${named}")`);
      }
    }

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

    if (format.phases && !format.phases.includes(step.phase)) {
      push(at("phase"), `a ${step.kind} step belongs in phase ${format.phases.join(" or ")}`);
    }

    const ca = (step as { ca?: CaName }).ca;
    if (ca !== undefined && plan.cas[ca] === undefined) {
      push(
        at("ca"),
        `CA "${ca}" is not declared in cas (declared: ${declared.join(", ") || "none"})`,
      );
    }
    const needs = stepNeedsEarlier(format, step);
    for (const actedOn of stepCas(format, step, plan)) {
      const seen = seenForCa.get(actedOn) ?? new Set<string>();
      for (const needed of needs) {
        if (!seen.has(needed)) {
          push(at("kind"), `${step.kind} for ${actedOn} needs an earlier ${needed} step for it`);
        }
      }
      seenForCa.set(actedOn, seen.add(step.kind));
    }

    if (format.kubeletGate) gated = true;
    if (
      step.phase === "finalize" && !gated && !gateReported && plan.cas.cluster !== undefined &&
      !format.checksOnly
    ) {
      gateReported = true;
      const gates = kinds.filter((kind) => kind.kubeletGate).map((kind) => kind.kind);
      push(
        at("kind"),
        `${step.kind} runs in finalize before the kubelet client-rotation gate: put a ` +
          `${gates.join(" or ")} step first (kubelets still holding old-CA client ` +
          `certificates would be cut off the API)`,
      );
    }

    const trustSet = format.trustSetField;
    const trustSetValue = trustSet && (step as unknown as Record<string, unknown>)[trustSet];
    if (trustSet && step.phase === "trust" && trustSetValue === "new") {
      push(
        at(trustSet),
        `"new" in the trust phase would drop the old CA while it still issues every ` +
          `certificate; use "bundle"`,
      );
    }

    for (const issue of format.rules?.(step, plan) ?? []) {
      push(at(...issue.path), issue.message);
    }
  });
  return issues;
}

/** `ifPresent` entries that are not among `within`: for kinds whose `ifPresent` names a subset. */
export function ifPresentSubset(
  listed: readonly string[],
  within: readonly string[],
  what: string,
): RuleIssue[] {
  return listed.flatMap((name, index) =>
    within.includes(name)
      ? []
      : [{ path: ["ifPresent", index], message: `"${name}" is not one of ${what}` }]
  );
}
