/**
 * `expiry`: a table (or a JSON document) of every CA and certificate on the plan's nodes, with
 * its expiry, what is left and its issuer, like `kubeadm certs check-expiration` for all nodes
 * at once; exit 3 when a CA expires within `--ca-days` or another certificate within
 * `--leaf-days`, 1 when a certificate file cannot be read.
 * @module
 */
import { ExitCode } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import { certificateExpiry } from "../app/certificate_expiry.ts";
import type { ExpiryRow } from "../app/expiry_report.ts";
import { outputDocument, printDocument } from "./output_document.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `expiry`. */
export interface ExpiryFlags {
  readonly plan: string;
  readonly caDays?: number;
  readonly leafDays?: number;
  readonly output: OutputFormat;
  /** Where the cluster is, for a plan whose node groups are found from it. */
  readonly kubeconfig?: string;
  readonly context?: string;
}

const COLUMNS = ["NODE", "ROLE", "CERTIFICATE", "EXPIRES", "RESIDUAL", "ISSUER", "DUE"] as const;

/** The rows as an aligned table, one line each, headed. */
export function expiryTable(rows: readonly ExpiryRow[]): string {
  const cells = rows.map((row) => [
    row.node,
    row.role,
    row.path,
    row.notAfter.replace(/\.\d{3}Z$/, "Z"),
    row.residual,
    row.issuer,
    row.due ? "yes" : "",
  ]);
  const widths = COLUMNS.map((title, i) =>
    Math.max(title.length, ...cells.map((line) => line[i].length))
  );
  const line = (values: readonly string[]) =>
    values.map((value, i) => value.padEnd(widths[i])).join("  ").trimEnd();
  return [line(COLUMNS), ...cells.map(line)].join("\n");
}

/** Reads every node's certificates and prints when each expires. */
export async function expiryCommand(flags: ExpiryFlags, printer: Printer): Promise<number> {
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const thresholds = { caDays: flags.caDays, leafDays: flags.leafDays };
  const { rows, problems } = await certificateExpiry(loaded, thresholds, new Date(), {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
  });
  const due = rows.filter((row) => row.due);
  const exitCode = problems.length > 0
    ? ExitCode.Failure
    : due.length > 0
    ? ExitCode.Gate
    : ExitCode.Ok;
  const format = documentFormat(flags.output);
  if (format) {
    await printDocument(
      outputDocument("ExpiryReport", exitCode, {
        plan: flags.plan,
        thresholds: { caDays: flags.caDays ?? null, leafDays: flags.leafDays ?? null },
        certificates: rows,
        due: due.length,
        problems,
      }),
      format,
    );
  } else {
    console.log(expiryTable(rows));
  }
  for (const problem of problems) {
    printer.error(`${problem.node}:${problem.path}: ${problem.problem}`);
  }
  for (const row of due) {
    const limit = row.role === "ca" ? `--ca-days ${flags.caDays}` : `--leaf-days ${flags.leafDays}`;
    printer.warn(
      `${row.node}:${row.path} (${row.role}) expires ${row.notAfter}, in ${row.daysLeft} days ` +
        `(within ${limit})`,
    );
  }
  return exitCode;
}
