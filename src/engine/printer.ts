/**
 * One injected printer for everything ca-rotator tells the operator, so the engine and the
 * steps never write to the console themselves.
 * @module
 */

/** Where progress and results go. */
export interface Printer {
  /** A line of progress or result. */
  info(message: string): void;
  /** Something the operator should notice. */
  warn(message: string): void;
  /** Why a command failed. */
  error(message: string): void;
}

/** Prints to stderr (progress) so stdout stays free for diffs and JSON. */
export function consolePrinter(): Printer {
  const encoder = new TextEncoder();
  const write = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n"));
  return {
    info: (message) => write(message),
    warn: (message) => write(`warning: ${message}`),
    error: (message) => write(`error: ${message}`),
  };
}

/** Collects lines in memory (tests, JSON output). */
export function memoryPrinter(): Printer & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warning: ${message}`),
    error: (message) => lines.push(`error: ${message}`),
  };
}

/** A printer whose every line starts with `[step-id]`, as kubeadm's phase runner logs. */
export function stepPrinter(printer: Printer, stepId: string): Printer {
  return {
    info: (message) => printer.info(`[${stepId}] ${message}`),
    warn: (message) => printer.warn(`[${stepId}] ${message}`),
    error: (message) => printer.error(`[${stepId}] ${message}`),
  };
}
