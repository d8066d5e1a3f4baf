/**
 * Building the verifier's report from gathered facts: every node's certificate classified by
 * signature and assessed by the verdict rules, nodes in natural name order, the verdicts
 * counted, and whether the gate is open. No I/O (only signature checks).
 * @module
 */
import { fingerprint } from "../pki/mod.ts";
import { type CaTrust, classifyIssuer } from "./ca_trust.ts";
import type {
  ForcedRotationRecord,
  NodeFacts,
  NodeReport,
  NodeVerdict,
  ReportSummary,
  VerifierReport,
} from "./report.ts";
import { type AssessContext, assessNode } from "./verdict.ts";

/** What {@link buildReport} needs. */
export interface BuildReportInput extends AssessContext {
  readonly facts: readonly NodeFacts[];
  readonly trust: CaTrust;
  readonly cas: VerifierReport["cas"];
  readonly forced?: readonly ForcedRotationRecord[];
}

/** Classifies every node's certificate and assesses it; nodes in name order. */
export async function buildReport(input: BuildReportInput): Promise<VerifierReport> {
  const nodes = await Promise.all(input.facts.map(async (facts) => {
    const print = facts.certificate ? await fingerprint(facts.certificate) : undefined;
    const issuer = facts.certificate
      ? await classifyIssuer(facts.certificate, input.trust, print)
      : undefined;
    return assessNode(facts, issuer, print, input);
  }));
  nodes.sort((a, b) => compareNames(a.name, b.name));
  return {
    generatedAt: input.now,
    deadline: input.deadline,
    cas: input.cas,
    signer: input.signer,
    nodes,
    summary: summarize(nodes),
    gateOpen: nodes.every((n) => n.verdict.status === "ok"),
    forced: input.forced ?? [],
  };
}

/** Counts the verdicts of `nodes`. */
export function summarize(nodes: readonly NodeReport[]): ReportSummary {
  const count = (status: NodeVerdict["status"]) =>
    nodes.filter((n) => n.verdict.status === status).length;
  return {
    nodes: nodes.length,
    ok: count("ok"),
    willRotate: count("will-rotate"),
    blocking: count("blocking"),
  };
}

/** Natural order: worker-2 before worker-10. */
function compareNames(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
