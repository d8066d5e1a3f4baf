/**
 * The verifier's report as data: per node, whether rotation is on, which CA issued the current
 * client certificate, its validity, the predicted rotation window and a verdict; the facts a
 * node report is made from; and the gate it makes. Types only: `build_report.ts` builds it,
 * `verdict.ts` holds the verdict rules.
 * @module
 */
import type { CaSummary, IssuerClass } from "./ca_trust.ts";
import type { CsrSummary } from "./csr_index.ts";
import type { SignerReport } from "./signer.ts";
import type { RotationTiming, RotationWindow } from "./window.ts";
import type { CertificateFields } from "../pki/mod.ts";

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
  readonly certificate?: CertificateFields;
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
