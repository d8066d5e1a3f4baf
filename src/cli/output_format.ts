/**
 * The `-o, --output` flag every reporting command takes, and how to find it on a command line
 * commander could not parse (a usage error still owes `-o json` its JSON document).
 * @module
 */
import { Option } from "@commander-js/extra-typings";

/** The output formats every reporting command takes: text, or one document as JSON or YAML. */
export const OUTPUT_FORMATS = ["text", "json", "yaml"] as const;

/** One of the output formats (`jsonl`: rotate's event stream). */
export type OutputFormat = typeof OUTPUT_FORMATS[number] | "jsonl";

/** The formats that print one document (docs/output.md). */
export type DocumentFormat = "json" | "yaml";

/** The document format `format` asks for, or `undefined` for text and event streams. */
export function documentFormat(format: string | undefined): DocumentFormat | undefined {
  return format === "json" || format === "yaml" ? format : undefined;
}

/** The `-o, --output <format>` option (default `text`), with the given formats. */
export function outputOption<F extends OutputFormat>(
  formats: readonly F[] = OUTPUT_FORMATS as unknown as readonly F[],
  note?: string,
) {
  return new Option("-o, --output <format>", `output format${note ? ` (${note})` : ""}`)
    .choices(formats).default("text" as F);
}

/**
 * The format the command line asks for — the last `-o F`, `-oF`, `--output F` or
 * `--output=F` before a `--` — whether or not the rest of it parses; `text` when none.
 */
export function requestedOutput(args: readonly string[]): string {
  let format = "text";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg === "-o" || arg === "--output") {
      if (i + 1 < args.length) format = args[++i];
    } else if (arg.startsWith("--output=")) {
      format = arg.slice("--output=".length);
    } else if (/^-o[^-]/.test(arg)) {
      format = arg.slice(2);
    }
  }
  return format;
}
