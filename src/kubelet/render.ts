/**
 * Renders a verifier report: a text table for people, a JSON document for CI.
 * @module
 */
import { gateMessage } from "./gate.ts";
import type { NodeReport, VerifierReport } from "./report.ts";
import { formatDuration, iso, isoCeil } from "./time_format.ts";

const HEADERS = [
  "NODE",
  "ROTATION",
  "ISSUER",
  "NOT BEFORE",
  "NOT AFTER",
  "WINDOW (70-90%)",
  "VERDICT",
];

/** The report as a table, one row per node, with the signer, notes and a summary line. */
export function renderReportText(report: VerifierReport): string {
  const lines: string[] = [];
  lines.push(signerLine(report));
  const rows = report.nodes.map(row);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  lines.push(format(HEADERS));
  for (const r of rows) lines.push(format(r));
  const notes = report.nodes.flatMap((n) => n.notes.map((note) => `  ${n.name}: ${note}`));
  if (notes.length) lines.push("notes:", ...notes);
  for (const forced of report.forced) {
    lines.push(
      `forced rotation: ${forced.node} got ${forced.file} from CSR ${forced.csr} (approved by ` +
        `${forced.approvedBy}), valid until ${iso(forced.notAfter)}`,
    );
  }
  const s = report.summary;
  lines.push(
    `${s.nodes} node(s): ${s.ok} ok, ${s.willRotate} will rotate, ${s.blocking} blocking; ` +
      `deadline ${iso(report.deadline)}; gate ${report.gateOpen ? "open" : "closed"}`,
  );
  const message = gateMessage(report);
  if (message) lines.push(message);
  return lines.join("\n") + "\n";
}

/** The report as JSON: {@link reportDocument}. */
export function renderReportJson(report: VerifierReport): string {
  return JSON.stringify(reportDocument(report), null, 2) + "\n";
}

/**
 * The report as the body of a JSON document (`--output json`, whose command adds `apiVersion`
 * and `kind`): dates as ISO 8601, stable field names.
 */
export function reportDocument(report: VerifierReport): Record<string, unknown> {
  return {
    generatedAt: report.generatedAt.toISOString(),
    deadline: report.deadline.toISOString(),
    gateOpen: report.gateOpen,
    gateMessage: gateMessage(report) ?? null,
    summary: report.summary,
    cas: report.cas,
    signer: report.signer,
    nodes: report.nodes.map((n) => ({
      name: n.name,
      registered: n.registered,
      nodeAccess: n.nodeAccess,
      rotation: { enabled: n.rotation.enabled ?? null, source: n.rotation.source },
      certificate: n.certificate
        ? {
          ...n.certificate,
          notBefore: n.certificate.notBefore.toISOString(),
          notAfter: n.certificate.notAfter.toISOString(),
        }
        : null,
      window: n.window
        ? { earliest: n.window.earliest.toISOString(), latest: n.window.latest.toISOString() }
        : null,
      timing: n.timing ?? null,
      openCsr: n.openCsr ?? null,
      verdict: {
        ...n.verdict,
        ...("by" in n.verdict ? { by: n.verdict.by.toISOString() } : {}),
      },
      notes: n.notes,
    })),
    forced: report.forced.map((f) => ({ ...f, notAfter: f.notAfter.toISOString() })),
  };
}

function row(n: NodeReport): string[] {
  const c = n.certificate;
  const verdict = n.verdict.status === "blocking"
    ? `BLOCKING ${n.verdict.reason}: ${n.verdict.message}`
    : n.verdict.status === "will-rotate"
    ? `will rotate by ${isoCeil(n.verdict.by)}`
    : "ok";
  return [
    n.name,
    n.rotation.enabled === undefined ? "?" : n.rotation.enabled ? "on" : "off",
    c ? c.issuer : "-",
    c ? iso(c.notBefore) : "-",
    c ? iso(c.notAfter) : "-",
    // Outward to whole seconds: the printed window holds every deadline the kubelet can draw.
    n.window ? `${iso(n.window.earliest)}..${isoCeil(n.window.latest)}` : "-",
    verdict,
  ];
}

function signerLine(report: VerifierReport): string {
  const s = report.signer;
  const per = s.nodes.map((n) => `${n.node}: ${n.ca}${n.error ? ` (${n.error})` : ""}`).join(", ");
  const duration = s.signingDurationMs !== undefined
    ? `, signing duration ${formatDuration(s.signingDurationMs)}`
    : "";
  const what = s.state === "new"
    ? "signs kubelet client certificates with the new CA"
    : s.state === "old"
    ? "still signs kubelet client certificates with the old CA"
    : s.state === "mixed"
    ? "signs with different CAs on different nodes"
    : "signing CA unknown (no control-plane node access)";
  return `controller-manager ${what}${duration}${per ? ` [${per}]` : ""}`;
}
