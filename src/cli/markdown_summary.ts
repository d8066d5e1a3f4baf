/**
 * The Markdown summary of a `rotate` run, for `$GITHUB_STEP_SUMMARY`, `--summary FILE`, a
 * merge-request note or a pull-request comment: the outcome, the diff of each step collapsed in
 * `<details>` (masked, as the text diff is), and what the next run would do.
 * @module
 */
import type { Change } from "../engine/change.ts";
import { renderChanges, renderSummary, summarize } from "../diff/mod.ts";
import { type Phase, phaseIndex } from "../plan/phase.ts";

/** Everything the summary says. */
export interface RunReport {
  /** The plan's name and its file as given. */
  readonly plan: string;
  readonly planFile: string;
  readonly dryRun: boolean;
  readonly stopAfter: Phase;
  readonly outcome: "done" | "gate" | "failed" | "interrupted";
  /** The steps that had something to do, with their changes (and the new-CA Secret). */
  readonly sections: readonly {
    readonly stepId: string;
    readonly phase?: Phase;
    readonly kind?: string;
    readonly changes: readonly Change[];
  }[];
  /** Every step of the plan, in order. */
  readonly steps: readonly { readonly id: string; readonly phase: Phase; readonly kind: string }[];
  /** Steps recorded as done before this run. */
  readonly skipped: readonly string[];
  readonly gate?: string;
  readonly error?: string;
  /**
   * The changes a failed run had applied before it failed, by name (a failed run's result and
   * its diffs are not kept; the events name each change).
   */
  readonly applied?: readonly {
    readonly step: string;
    readonly action: string;
    readonly target: string;
  }[];
  /** The step a next run starts with. */
  readonly next?: { readonly step: string; readonly phase: Phase };
  /** The rotation's timeline so far (a Mermaid chart, src/cli/timeline.ts), for a real run. */
  readonly timeline?: string;
  /** What the rest of the plan will do, as lines (src/cli/impact.ts), for a dry run. */
  readonly impact?: readonly string[];
  /** A read-only dry run: the node inventory it read (when, by whom, how old; warnings). */
  readonly nodeInventory?: {
    readonly recordedAt: string;
    readonly recordedBy: string;
    readonly age: string;
    readonly warnings: readonly string[];
  };
}

const OUTCOME: Record<RunReport["outcome"], string> = {
  done: "✅ done",
  gate: "⏸️ stopped at a gate (exit 3)",
  failed: "❌ failed",
  interrupted: "⏹️ interrupted (stopped at a safe point; the next run resumes)",
};

/** Renders `report` as Markdown (GitHub-flavoured: `<details>`, fenced `diff`). */
export function renderMarkdownSummary(report: RunReport): string {
  const all = report.sections.flatMap((section) => section.changes);
  const lines: string[] = [];
  lines.push(
    `## ca-rotator ${report.dryRun ? "dry run" : "rotate"}: \`${inline(report.plan)}\``,
    "",
  );
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| Plan | \`${inline(report.planFile)}\` |`);
  lines.push(`| stopAfter | \`${report.stopAfter}\` |`);
  lines.push(
    `| Outcome | ${
      report.dryRun && report.outcome === "done"
        ? "📝 planned, nothing changed"
        : OUTCOME[report.outcome]
    } |`,
  );
  lines.push(
    `| ${report.dryRun ? "Would change" : "Changed"} | ${
      escapeHtml(
        renderSummary(summarize(all)).replace(/^Plan: /, "").replace(/ to change\.$/, "")
          .replace(/^No changes\.$/, "nothing"),
      )
    } |`,
  );
  if (report.skipped.length) {
    lines.push(`| Done before | ${report.skipped.length} steps |`);
  }
  if (report.nodeInventory) {
    const inventory = report.nodeInventory;
    lines.push(
      `| Nodes | from the node inventory recorded at ${inline(inventory.recordedAt)} (${
        inline(inventory.age)
      } ago) by ${escapeHtml(inventory.recordedBy)}${
        inventory.warnings.map((warning) => `<br>⚠️ ${escapeHtml(warning)}`).join("")
      } |`,
    );
  }
  lines.push("");
  if (report.gate) lines.push(`**Gate:** ${escapeHtml(report.gate)}`, "");
  if (report.error) lines.push("**Error:**", "", fenced(report.error, ""), "");
  lines.push(`**Next:** ${nextRun(report)}`, "");
  if (report.applied?.length) {
    lines.push(
      "<details>",
      `<summary>Applied before the failure: ${report.applied.length} change${
        report.applied.length === 1 ? "" : "s"
      }</summary>`,
      "",
      ...report.applied.map((change) =>
        `- \`${inline(change.step)}\` ${change.action} \`${inline(change.target)}\``
      ),
      "",
      "</details>",
      "",
    );
  }
  if (report.impact?.length) {
    lines.push(
      "### Impact",
      "",
      ...report.impact.slice(1).map((line) => `- ${escapeHtml(line.trim())}`),
      "",
    );
  }
  if (report.timeline) lines.push("### Timeline", "", report.timeline, "");
  if (report.sections.length) {
    lines.push(`### ${report.dryRun ? "Changes the plan would make" : "Changes made"}`, "");
    for (const section of report.sections) {
      const where = section.phase ? ` — ${section.phase}, ${section.kind}` : "";
      const count = `${section.changes.length} change${section.changes.length === 1 ? "" : "s"}`;
      lines.push(
        "<details>",
        `<summary><code>${escapeHtml(section.stepId)}</code>${
          escapeHtml(where)
        }: ${count}</summary>`,
        "",
        fenced(renderChanges(section.changes, { color: false, stepId: section.stepId }), "diff"),
        "",
        "</details>",
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** What the next run would do, in a sentence. */
function nextRun(report: RunReport): string {
  const next = report.next;
  if (!next) {
    // A run that failed or stopped before it knew where it stood (a plan that did not load, an
    // unreachable server, the lock held) has run no step: nothing is known to be done.
    return report.outcome === "failed" || report.outcome === "interrupted"
      ? "fix what the error says and run again; `status` shows where the rotation stands."
      : "nothing: every step of the plan is done.";
  }
  const code = (text: string) => `\`${inline(text)}\``;
  if (report.outcome === "failed") {
    return `a run resumes at step ${code(next.step)} (phase ${next.phase}), which failed.`;
  }
  if (report.outcome === "interrupted") {
    return `a run resumes at step ${code(next.step)} (phase ${next.phase}), which was interrupted.`;
  }
  if (report.outcome === "gate") {
    return `a run retries the gate ${code(next.step)} (phase ${next.phase}) and goes on once it ` +
      "opens.";
  }
  const stop = phaseIndex(report.stopAfter);
  if (phaseIndex(next.phase) > stop) {
    return `phase ${code(next.phase)} starts at step ${code(next.step)} once a commit moves ` +
      `\`stopAfter\` to \`${next.phase}\`.`;
  }
  // A dry run: the next real run goes from `next` up to stopAfter.
  const start = report.steps.findIndex((step) => step.id === next.step);
  const upTo = report.steps.slice(start).filter((step) =>
    phaseIndex(step.phase) <= stop && !report.skipped.includes(step.id)
  );
  return `a run with \`stopAfter: ${report.stopAfter}\` runs ${upTo.length} step${
    upTo.length === 1 ? "" : "s"
  }, from ${code(next.step)} to ${code(upTo.at(-1)?.id ?? next.step)}.`;
}

/** A fenced block whose fence is longer than any run of backticks in `text`. */
function fenced(text: string, language: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}\n${text.replace(/\n$/, "")}\n${fence}`;
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Text for inline code: no backticks or line breaks. */
function inline(text: string): string {
  return text.replaceAll("`", "'").replaceAll(/[\r\n]/g, " ");
}
