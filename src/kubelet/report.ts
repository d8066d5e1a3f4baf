/**
 * The verifier's report: per node, whether rotation is on, which CA issued the current client
 * certificate, its validity, the predicted rotation window and a verdict; and the gate it makes.
 * Building a report from gathered facts does no I/O (only signature checks).
 * @module
 */
import { fingerprint, x509 } from "../pki/mod.ts";
import { type CaSummary, type CaTrust, classifyIssuer, type IssuerClass } from "./ca_trust.ts";
import type { CsrSummary } from "./csr_index.ts";
import type { SignerReport } from "./signer.ts";
import { assessRotation, type RotationTiming, type RotationWindow } from "./window.ts";
import { NODE_USER_PREFIX } from "./csr_index.ts";

/** Where the rotation setting was read. */
export type RotationSource = "configz" | "node-file" | "none";

/** Where the current client certificate was read. */
export type CertificateSource = "node-file" | "kubelet.conf" | "csr";

/** What was gathered about one node, before assessment. */
export interface NodeFacts {
  readonly name: string;
  /** The node is registered in the API (a Node object exists). */
  readonly registered: boolean;
  /** ca-rotator can reach the node's files. */
  readonly nodeAccess: boolean;
  /** `rotateCertificates`; `undefined` when it could not be read. */
  readonly rotationEnabled?: boolean;
  readonly rotationSource: RotationSource;
  /** The current client certificate, when found. */
  readonly certificate?: x509.X509Certificate;
  readonly certificateSource?: CertificateSource;
  /** The file, or the CSR, the certificate came from. */
  readonly certificateOrigin?: string;
  /** The node's newest kubelet client CSR when it is newer than its newest issued one. */
  readonly openCsr?: CsrSummary;
  /** Problems met while gathering (unreadable files, failed requests). */
  readonly problems?: readonly string[];
}

/** Why a node blocks the gate. */
export type BlockingReason =
  | "rotation-off"
  | "window-after-deadline"
  | "unknown-issuer"
  | "csr-denied"
  | "csr-pending"
  | "expired"
  | "signer-old-ca"
  | "no-certificate";

/** The verdict on one node. */
export type NodeVerdict =
  | { readonly status: "ok"; readonly message: string }
  | { readonly status: "will-rotate"; readonly by: Date; readonly message: string }
  | {
    readonly status: "blocking";
    readonly reason: BlockingReason;
    readonly message: string;
    /** The situation may still resolve itself by the deadline (worth waiting for). */
    readonly waitable: boolean;
    /** A forced rotation (new key and CSR through node access) would resolve it. */
    readonly forceable: boolean;
  };

/** The client certificate as the report shows it. */
export interface CertificateReport {
  readonly source: CertificateSource;
  readonly origin?: string;
  readonly subject: string;
  readonly issuer: IssuerClass;
  /** The issuer's distinguished name. */
  readonly issuerName: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprint: string;
}

/** The report on one node. */
export interface NodeReport {
  readonly name: string;
  readonly registered: boolean;
  readonly nodeAccess: boolean;
  readonly rotation: { readonly enabled?: boolean; readonly source: RotationSource };
  readonly certificate?: CertificateReport;
  /** The 70–90 % rotation window of the current certificate. */
  readonly window?: RotationWindow;
  readonly timing?: RotationTiming;
  readonly openCsr?: Omit<CsrSummary, "certificatePem">;
  readonly verdict: NodeVerdict;
  /** Things the operator should know (clock skew, unknown settings, read problems). */
  readonly notes: readonly string[];
}

/** A rotation forced by the verifier in this run. */
export interface ForcedRotationRecord {
  readonly node: string;
  readonly csr: string;
  /** How the CSR was approved: by the controller-manager or by ca-rotator with admin rights. */
  readonly approvedBy: "controller-manager" | "ca-rotator";
  readonly file: string;
  readonly notAfter: Date;
}

/** Counts of verdicts. */
export interface ReportSummary {
  readonly nodes: number;
  readonly ok: number;
  readonly willRotate: number;
  readonly blocking: number;
}

/** The verifier's report. */
export interface VerifierReport {
  readonly generatedAt: Date;
  /** The time by which every kubelet should be on the new CA. */
  readonly deadline: Date;
  readonly cas: { readonly new: readonly CaSummary[]; readonly old: readonly CaSummary[] };
  readonly signer: SignerReport;
  readonly nodes: readonly NodeReport[];
  readonly summary: ReportSummary;
  /** True when every node is ok: the old CA may be removed. */
  readonly gateOpen: boolean;
  readonly forced: readonly ForcedRotationRecord[];
}

/** The context nodes are assessed in. */
export interface AssessContext {
  readonly now: Date;
  readonly deadline: Date;
  readonly signer: SignerReport;
  /** See {@link assessRotation}. Default 0. */
  readonly syncSlackMs?: number;
}

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

/**
 * Assesses one node: `issuer` is the class of its certificate's issuer (absent without a
 * certificate), `print` its fingerprint. Pure.
 */
export function assessNode(
  facts: NodeFacts,
  issuer: IssuerClass | undefined,
  print: string | undefined,
  context: AssessContext,
): NodeReport {
  const notes = [...(facts.problems ?? [])];
  if (!facts.registered) notes.push("no Node object in the API");
  if (facts.rotationEnabled === undefined) {
    notes.push(
      "rotateCertificates could not be read (neither configz nor node access); assumed on",
    );
  }
  const cert = facts.certificate;
  const base = {
    name: facts.name,
    registered: facts.registered,
    nodeAccess: facts.nodeAccess,
    rotation: {
      ...(facts.rotationEnabled !== undefined ? { enabled: facts.rotationEnabled } : {}),
      source: facts.rotationSource,
    },
    ...(facts.openCsr ? { openCsr: withoutCertificate(facts.openCsr) } : {}),
  };
  const blocking = (
    reason: BlockingReason,
    message: string,
    waitable = false,
  ): NodeVerdict => ({
    status: "blocking",
    reason,
    message,
    waitable,
    forceable: facts.nodeAccess && context.signer.state !== "old" && reason !== "signer-old-ca",
  });

  if (!cert || issuer === undefined) {
    const csr = facts.openCsr;
    const verdict = csr?.state === "denied" || csr?.state === "failed"
      ? blocking("csr-denied", `CSR ${csr.name} was ${csr.state}${detail(csr)}`)
      : csr
      ? blocking("csr-pending", `no certificate yet; CSR ${csr.name} is ${csr.state}`, true)
      : blocking(
        "no-certificate",
        facts.nodeAccess
          ? "no client certificate found on the node"
          : "no client certificate found (no node access, no issued CSR)",
      );
    return { ...base, verdict, notes };
  }

  const assessment = assessRotation({
    validity: cert,
    now: context.now,
    rotationEnabled: facts.rotationEnabled,
    bootstrap: !isNodeOwnCertificate(cert, facts.name),
    deadline: context.deadline,
    syncSlackMs: context.syncSlackMs,
  });
  const certificate: CertificateReport = {
    source: facts.certificateSource ?? "node-file",
    ...(facts.certificateOrigin ? { origin: facts.certificateOrigin } : {}),
    subject: cert.subject,
    issuer,
    issuerName: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint: print ?? "",
  };
  if (assessment.notYetValidByMs !== undefined) {
    notes.push(
      `NotBefore is ${formatDuration(assessment.notYetValidByMs)} in the future: clock skew ` +
        "between the signer and this machine; the API server rejects the certificate until then",
    );
  }
  if (assessment.timing === "bootstrap") {
    notes.push(`subject "${cert.subject}" is not the node's own: a bootstrap certificate`);
  }
  const report = {
    ...base,
    certificate,
    ...(assessment.window ? { window: assessment.window } : {}),
    timing: assessment.timing,
  };
  const done = (verdict: NodeVerdict): NodeReport => ({ ...report, verdict, notes });
  const expires = `expired at ${iso(cert.notAfter)}`;

  if (issuer === "new") {
    if (assessment.timing === "expired") {
      return done(blocking("expired", `new-CA certificate ${expires}`));
    }
    if (assessment.timing === "rotation-off") {
      notes.push(
        `rotation is off: the certificate will not be renewed before ${iso(cert.notAfter)}`,
      );
    }
    return done({ status: "ok", message: "issued by the new CA" });
  }
  if (issuer === "unknown") {
    return done(
      blocking("unknown-issuer", `issued by "${cert.issuer}", neither the old nor the new CA`),
    );
  }

  // issued by the old CA
  const csr = facts.openCsr;
  if (csr?.state === "denied" || csr?.state === "failed") {
    return done(blocking("csr-denied", `rotation CSR ${csr.name} was ${csr.state}${detail(csr)}`));
  }
  if (assessment.timing === "rotation-off") {
    return done(blocking("rotation-off", "old-CA certificate and rotateCertificates is off"));
  }
  if (assessment.timing === "expired") {
    return done(blocking("expired", `old-CA certificate ${expires}`));
  }
  if (context.signer.state === "old") {
    return done(
      blocking(
        "signer-old-ca",
        "the controller-manager still signs kubelet certificates with the old CA",
      ),
    );
  }
  if (context.signer.state === "mixed") {
    notes.push("controller-managers disagree on the signing CA: a rotation may get the old CA");
  }
  if (csr) {
    return done(blocking("csr-pending", `rotation CSR ${csr.name} is ${csr.state}`, true));
  }
  const from = assessment.rotatesFrom!;
  const by = assessment.rotatesBy!;
  switch (assessment.byDeadline) {
    case "yes":
      return done({
        status: "will-rotate",
        by,
        message: assessment.timing === "due" || assessment.timing === "bootstrap"
          ? "rotation due now"
          : `will rotate by ${iso(by)}`,
      });
    case "maybe":
      return done(
        blocking(
          "window-after-deadline",
          `rotates between ${iso(from)} and ${iso(by)}; the deadline ${
            iso(context.deadline)
          } falls inside`,
          true,
        ),
      );
    default:
      return done(
        blocking(
          "window-after-deadline",
          `rotates between ${iso(from)} and ${iso(by)}, after the deadline ${
            iso(context.deadline)
          }`,
        ),
      );
  }
}

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

/**
 * Whether `cert` has the subject the kubelet's CSR template asks for (CN `system:node:<name>`,
 * O `system:nodes`); the certificate manager replaces any other at once.
 */
export function isNodeOwnCertificate(cert: x509.X509Certificate, nodeName: string): boolean {
  return cert.subjectName.getField("CN")[0] === `${NODE_USER_PREFIX}${nodeName}` &&
    cert.subjectName.getField("O").includes("system:nodes");
}

function withoutCertificate(csr: CsrSummary): Omit<CsrSummary, "certificatePem"> {
  const { certificatePem: _, ...rest } = csr;
  return rest;
}

function detail(csr: CsrSummary): string {
  return csr.detail ? ` (${csr.detail})` : "";
}

/** ISO 8601 without milliseconds. */
export function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A duration as `1h2m3s`, `45s`, `2d3h`. */
export function formatDuration(ms: number): string {
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const out = (d ? `${d}d` : "") + (h ? `${h}h` : "") + (m && !d ? `${m}m` : "") +
    (s && !d && !h ? `${s}s` : "");
  return (ms < 0 ? "-" : "") + (out || "0s");
}

/** Natural order: worker-2 before worker-10. */
function compareNames(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
