/**
 * The verdict rules: how one node's gathered facts, the class of its certificate's issuer, the
 * deadline and the controller-manager's signer make its verdict (ok, will rotate, or blocking
 * and why), with the notes the operator should see. Pure.
 * @module
 */
import type { CertificateFields } from "../pki/mod.ts";
import type { IssuerClass } from "./ca_trust.ts";
import { type CsrSummary, NODE_USER_PREFIX } from "./csr_index.ts";
import type {
  BlockingReason,
  CertificateReport,
  NodeFacts,
  NodeReport,
  NodeVerdict,
} from "./report.ts";
import type { SignerReport } from "./signer.ts";
import { formatDuration, iso, isoCeil } from "./time_format.ts";
import { assessRotation } from "./window.ts";

/** The context nodes are assessed in. */
export interface AssessContext {
  readonly now: Date;
  readonly deadline: Date;
  readonly signer: SignerReport;
  /** See {@link assessRotation}. Default 0. */
  readonly syncSlackMs?: number;
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
          : `will rotate by ${isoCeil(by)}`,
      });
    case "maybe":
      return done(
        blocking(
          "window-after-deadline",
          `rotates between ${iso(from)} and ${isoCeil(by)}; the deadline ${
            iso(context.deadline)
          } falls inside`,
          true,
        ),
      );
    default:
      return done(
        blocking(
          "window-after-deadline",
          `rotates between ${iso(from)} and ${isoCeil(by)}, after the deadline ${
            iso(context.deadline)
          }`,
        ),
      );
  }
}

/**
 * Whether `cert` has the subject the kubelet's CSR template asks for (CN `system:node:<name>`,
 * O `system:nodes`); the certificate manager replaces any other at once.
 */
export function isNodeOwnCertificate(
  cert: Pick<CertificateFields, "subjectCommonNames" | "subjectOrganizations">,
  nodeName: string,
): boolean {
  return cert.subjectCommonNames[0] === `${NODE_USER_PREFIX}${nodeName}` &&
    cert.subjectOrganizations.includes("system:nodes");
}

function withoutCertificate(csr: CsrSummary): Omit<CsrSummary, "certificatePem"> {
  const { certificatePem: _, ...rest } = csr;
  return rest;
}

function detail(csr: CsrSummary): string {
  return csr.detail ? ` (${csr.detail})` : "";
}
