/**
 * Building the verifier's report from gathered facts: every node's certificate classified (by
 * key ids where they decide, else by signature; each distinct certificate once per cache) and
 * assessed by the verdict rules, nodes in natural name order, the verdicts counted, and whether
 * the gate is open. No I/O (only signature checks).
 * @module
 */
import type { CaTrust } from "./ca_trust.ts";
import { CertificateCache } from "./certificate_cache.ts";
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
  /**
   * Certificates classified in earlier rounds against `trust` (a wait's). Default: a new
   * cache, so each distinct certificate is still classified once per report.
   */
  readonly certificates?: CertificateCache;
}

/** Classifies every node's certificate and assesses it; nodes in name order. */
export async function buildReport(input: BuildReportInput): Promise<VerifierReport> {
  const certificates = input.certificates?.trust === input.trust
    ? input.certificates
    : new CertificateCache(input.trust);
  const nodes = await Promise.all(input.facts.map(async (facts) => {
    const classified = facts.certificate
      ? await certificates.classify(facts.certificate)
      : undefined;
    return assessNode(facts, classified?.issuer, classified?.fingerprint, input);
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

const NATURAL = new Intl.Collator("en", { numeric: true });

/** Natural order: worker-2 before worker-10 (one collator: `localeCompare` makes one a call). */
function compareNames(a: string, b: string): number {
  return NATURAL.compare(a, b);
}
