/**
 * When each certificate of the nodes expires, who issued it, and whether one is due: a CA that
 * expires within `caDays`, any other certificate within `leafDays`. Pure: given the inventory
 * (src/app/certificate_inventory.ts) and the time.
 * @module
 */
import { issuedBy } from "../pki/mod.ts";
import type { CertificateRole, HeldCertificate } from "./certificate_inventory.ts";

const DAY_MS = 86_400_000;

/** One certificate in the report. */
export interface ExpiryRow {
  readonly node: string;
  readonly path: string;
  readonly role: CertificateRole;
  readonly subject: string;
  /** The CA that issued it, by kubeadm's name when it is on the node (`ca`, `etcd-ca`, …). */
  readonly issuer: string;
  readonly notAfter: string;
  /** Whole days left (negative once expired). */
  readonly daysLeft: number;
  /** What is left, as kubeadm shows it (`364d`, `9y`, `47h`, `expired`). */
  readonly residual: string;
  /** Within the threshold for its role. */
  readonly due: boolean;
}

/** Thresholds, in days: absent, nothing is due for that role. */
export interface ExpiryThresholds {
  readonly caDays?: number;
  readonly leafDays?: number;
}

/** What is left of `ms`, as `kubeadm certs check-expiration` prints it. */
export function residual(ms: number): string {
  if (ms <= 0) return "expired";
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(ms / DAY_MS);
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

/** The report's rows, in the inventory's order. */
export async function expiryRows(
  held: readonly HeldCertificate[],
  thresholds: ExpiryThresholds,
  now: Date = new Date(),
): Promise<ExpiryRow[]> {
  const rows: ExpiryRow[] = [];
  for (const each of held) {
    const left = each.cert.notAfter.getTime() - now.getTime();
    const daysLeft = Math.floor(left / DAY_MS);
    const limit = each.role === "ca" ? thresholds.caDays : thresholds.leafDays;
    rows.push({
      node: each.node,
      path: each.path,
      role: each.role,
      subject: each.cert.subject,
      issuer: await issuerName(each, held),
      notAfter: each.cert.notAfter.toISOString(),
      daysLeft,
      residual: residual(left),
      due: limit !== undefined && left < limit * DAY_MS,
    });
  }
  return rows;
}

/** The issuer of `each` by the name of a CA on its node, `self-signed`, or its issuer name. */
async function issuerName(
  each: HeldCertificate,
  held: readonly HeldCertificate[],
): Promise<string> {
  if (each.cert.subject === each.cert.issuer && await issuedBy(each.cert, each.cert)) {
    return each.caName ? "self-signed" : "self-signed (no CA)";
  }
  for (const ca of held) {
    if (ca.node === each.node && ca.role === "ca" && await issuedBy(each.cert, ca.cert)) {
      return ca.caName ?? ca.path;
    }
  }
  return `"${each.cert.issuer}" (not a CA on the node)`;
}
