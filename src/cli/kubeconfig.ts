/**
 * `kubeconfig`: brings a person's or a pipeline's kubeconfig along the rotation (runbook step 7):
 * its clusters' CA data as the rotation's phase needs it and, with `--renew-client`, a new client
 * certificate through the CSR API. The kubeconfig goes to `--out` (mode 0600) or stdout; what
 * changed goes to stderr, or as a `KubeconfigResult` document with `-o json` (no key in it).
 * @module
 */
import { dirname } from "node:path";
import { ExitCode, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { loadPlan } from "../app/plan.ts";
import {
  bringKubeconfigAlong,
  type CaSummary,
  type ClientSummary,
  type KubeconfigAlongResult,
} from "../app/kubeconfig_along.ts";
import { caDataWords } from "../app/kubeconfig_needs.ts";
import { outputDocument, printDocument, writeStdout } from "./output_document.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `kubeconfig`. */
export interface KubeconfigFlags {
  readonly plan: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly in?: string;
  readonly out?: string;
  readonly cluster?: string[];
  readonly renewClient?: boolean;
  readonly timeout?: number;
  readonly output: OutputFormat;
}

const shortPrint = (print: string) => `sha256:${print.slice(0, 16)}…`;
const ROLE_WORDS = { old: "old CA", new: "new CA", other: "not a CA the cluster publishes now" };

function cas(list: readonly CaSummary[]): string {
  return list.length === 0
    ? "nothing"
    : list.map((ca) => `${ca.subject} (${ROLE_WORDS[ca.role]}, ${shortPrint(ca.fingerprint)})`)
      .join(" + ");
}

function client(summary: ClientSummary): string {
  return `${summary.subject}, issued by ${ROLE_WORDS[summary.issuer]}, valid until ` +
    summary.notAfter;
}

/** What changed, in lines for stderr. */
export function changeLines(result: KubeconfigAlongResult): string[] {
  const lines: string[] = [];
  for (const cluster of result.clusters) {
    lines.push(
      cluster.changed
        ? `cluster "${cluster.name}" (${cluster.server}): CA set to ` +
          `${caDataWords(result.needs.caData)}: ${cas(cluster.after)} (was: ${cas(cluster.before)})`
        : `cluster "${cluster.name}" (${cluster.server}): already trusts ` +
          `${caDataWords(result.needs.caData)}: ${cas(cluster.after)}`,
    );
  }
  if (result.client && !result.renewed) {
    lines.push(`user "${result.client.user}": client certificate ${client(result.client)}`);
  }
  if (result.renewed) {
    lines.push(
      `user "${result.renewed.user}": new client certificate ${client(result.renewed)} ` +
        `(CertificateSigningRequest ${result.renewed.csr}` +
        (result.client ? `; was issued by ${ROLE_WORDS[result.client.issuer]})` : ")"),
    );
  }
  return lines;
}

/** Writes `text` to `path` with mode 0600, through a file beside it renamed over it. */
async function writePrivately(path: string, text: string): Promise<void> {
  const temp = await Deno.makeTempFile({ dir: dirname(path), prefix: ".kubeconfig-" });
  try {
    await Deno.chmod(temp, 0o600);
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Brings the kubeconfig along and writes it. */
export async function kubeconfigCommand(flags: KubeconfigFlags, printer: Printer): Promise<number> {
  const format = documentFormat(flags.output);
  if (format && !flags.out) {
    throw new InputError(
      `-o ${flags.output} prints a document on stdout: give --out for the kubeconfig`,
    );
  }
  const loaded = await loadPlan(flags.plan, Deno.env.toObject());
  const result = await bringKubeconfigAlong(loaded, {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    input: flags.in,
    clusters: flags.cluster,
    renewClient: flags.renewClient,
    timeoutMs: flags.timeout,
    printer,
  });
  const written = flags.out !== undefined && (result.changed || flags.out !== result.input);
  if (flags.out !== undefined) {
    if (written) await writePrivately(flags.out, result.text);
  } else {
    writeStdout(result.text);
  }
  for (const line of changeLines(result)) printer.info(line);
  for (const warning of result.warnings) printer.warn(warning);
  if (flags.out !== undefined) {
    printer.info(written ? `wrote ${flags.out} (mode 0600)` : `${flags.out} unchanged`);
  }
  if (format) {
    await printDocument(
      outputDocument("KubeconfigResult", ExitCode.Ok, {
        plan: flags.plan,
        input: result.input,
        out: flags.out ?? null,
        changed: result.changed,
        stage: result.needs.stage,
        caData: result.needs.caData,
        clusters: result.clusters,
        client: result.client ?? null,
        renewed: result.renewed ?? null,
        warnings: result.warnings,
      }),
      format,
    );
  }
  return ExitCode.Ok;
}
