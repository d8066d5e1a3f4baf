/**
 * Measuring for the benchmarks: child processes under `/usr/bin/time -v` (wall time and peak
 * resident memory), medians, ratios, and one plain-text table per measurement.
 * @module
 */

/** One run of a child process. */
export interface ChildRun {
  readonly ms: number;
  /** Peak resident set size, bytes (from `/usr/bin/time -v`). */
  readonly peakRss: number;
  /** CPU seconds the process used (user + system): its own cost, whatever the machine's load. */
  readonly cpuMs: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `args` under `/usr/bin/time -v`, measuring wall time and peak memory. */
export async function timeChild(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<ChildRun> {
  const started = performance.now();
  const output = await new Deno.Command("/usr/bin/time", {
    args: ["-v", ...args],
    env: options.env,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - started;
  const stderr = new TextDecoder().decode(output.stderr);
  const rss = stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  const cpu = ["User", "System"].map((kind) =>
    Number(stderr.match(new RegExp(`${kind} time \\(seconds\\): ([\\d.]+)`))?.[1] ?? NaN)
  );
  return {
    ms,
    peakRss: rss ? Number(rss[1]) * 1024 : NaN,
    cpuMs: (cpu[0] + cpu[1]) * 1000,
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: stderr.replace(/\n\tCommand being timed:[\s\S]*$/, ""),
  };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Seconds with one or two decimals. */
export function seconds(ms: number): string {
  return Number.isNaN(ms) ? "–" : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

/** Mebibytes, whole. */
export function mib(bytes: number): string {
  return Number.isNaN(bytes) ? "–" : `${Math.round(bytes / 1024 / 1024)}`;
}

/** A markdown-style table (readable as text, pastable into bench/README.md). */
export function table(title: string, header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [
    `### ${title}`,
    "",
    line(header),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...rows.map(line),
    "",
  ].join("\n");
}

/** The machine's load average (1, 5, 15 minutes): the bench shares its CPUs. */
export async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ");
}

/** Logs a progress line of the bench to stderr. */
export function note(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}
