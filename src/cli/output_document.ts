/**
 * The JSON documents of `--output json`: one document on stdout for every outcome of every
 * command, errors included, under one `apiVersion` (docs/output.md describes each kind).
 * @module
 */
import type { DocumentFormat } from "./output_format.ts";
import { PlanError } from "../plan/plan_error.ts";
import { InterruptedError, StepError } from "../engine/step_error.ts";

/** The `apiVersion` of every document ca-rotator prints (and of its plans). */
export const OUTPUT_API_VERSION = "ca-rotator.dev/v1";

/** The kinds of document, one per command plus `Error`. */
export type OutputKind =
  | "ValidationResult"
  | "RotateResult"
  | "RollbackResult"
  | "StatusReport"
  | "KubeletReport"
  | "ExpiryReport"
  | "KubeconfigResult"
  | "VersionInfo"
  | "Error";

/** The fields every document starts with. */
export interface DocumentHead {
  readonly apiVersion: typeof OUTPUT_API_VERSION;
  readonly kind: OutputKind;
  /** The exit code the command ends with. */
  readonly exitCode: number;
}

/** A document of `kind` with `body`'s fields after the common ones. */
export function outputDocument<T extends object>(
  kind: OutputKind,
  exitCode: number,
  body: T,
): DocumentHead & T {
  return { apiVersion: OUTPUT_API_VERSION, kind, exitCode, ...body };
}

/** Where a command failed, as far as it is known. */
export interface ErrorContext {
  /** The command, e.g. `rotate` (absent when the command line named none). */
  readonly command?: string;
  /** The plan file as given. */
  readonly plan?: string;
}

/**
 * The `Error` document of a failure: its message, the exit code, and — when known — the step
 * and stage that failed, or every problem of a bad plan with its file, line and field.
 */
export function errorDocument(error: unknown, exitCode: number, context: ErrorContext = {}) {
  const message = error instanceof Error ? error.message : String(error);
  return outputDocument("Error", exitCode, {
    ...(context.command ? { command: context.command } : {}),
    ...(context.plan ? { plan: context.plan } : {}),
    error: message,
    ...(error instanceof StepError ? { step: error.stepId, stage: error.stage } : {}),
    ...(error instanceof InterruptedError && error.stepId
      ? { step: error.stepId, interrupted: true }
      : {}),
    ...(error instanceof PlanError
      ? {
        problems: error.problems.map((problem) => ({
          file: error.file,
          ...(problem.line !== undefined ? { line: problem.line } : {}),
          ...(problem.column !== undefined ? { column: problem.column } : {}),
          ...(problem.field ? { field: problem.field } : {}),
          message: problem.message,
        })),
      }
      : {}),
  });
}

/**
 * Writes `document` to stdout as indented JSON (or YAML), whole (a pipe may take it in parts).
 * The YAML library is loaded only for `-o yaml`: a command's start loads no more than it needs.
 */
export async function printDocument(
  document: object,
  format: DocumentFormat = "json",
): Promise<void> {
  if (format === "yaml") {
    const { stringify } = await import("yaml");
    writeStdout(stringify(document, { lineWidth: 0 }));
    return;
  }
  writeStdout(JSON.stringify(document, null, 2) + "\n");
}

/** Writes `text` to stdout synchronously, all of it. */
export function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}
