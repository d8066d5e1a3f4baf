/**
 * `rotate`: runs the plan up to `stopAfter`, or with --dry-run shows the diff of every
 * remaining step and changes nothing.
 * @module
 */
import { driftRecheckEnabled } from "../app/drift_switch.ts";
import { ExitCode, exitCodeOf, InputError } from "./exit_code.ts";
import type { Printer } from "../engine/printer.ts";
import { rotate, type RotationOptions, type RotationResult } from "../app/rotation.ts";
import { listenForInterrupts } from "../app/interrupt.ts";
import { loadPlan } from "../app/plan.ts";
import { formatAge, loadNodeInventory } from "../app/node_inventory.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { InterruptedError, StepError } from "../engine/step_error.ts";
import { type EventSink, fanOut, type RunFinishedEvent } from "../engine/events.ts";
import { jsonLinesSink } from "./event_lines.ts";
import { liveWaitLine } from "./live_wait_line.ts";
import { timestampedPrinter } from "./log_timestamps.ts";
import { renderMarkdownSummary, type RunReport } from "./markdown_summary.ts";
import { timelineChart } from "./timeline.ts";
import { impactOf, renderImpact } from "./impact.ts";
import { measuredRates } from "./phase_durations.ts";
import { nodeNames } from "../plan/nodes.ts";
import { rotationStatus } from "../app/status.ts";
import { inGitHubActions } from "./github_actions.ts";
import {
  renderChanges,
  renderJson,
  renderSummary,
  shouldUseColor,
  summarize,
} from "../diff/mod.ts";
import type { Change } from "../engine/change.ts";
import { outputDocument, type OutputKind, printDocument, writeStdout } from "./output_document.ts";
import { documentFormat, type OutputFormat } from "./output_format.ts";

/** The flags of `rotate`. */
export interface RotateFlags {
  readonly plan: string;
  readonly dryRun: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
  /** Write the run's Markdown summary to this file (as well). */
  readonly summary?: string;
  /** Start every log line with an RFC 3339 time. */
  readonly timestamps?: boolean;
  /** A dry run with changes pending exits {@link ExitCode.ChangesPending} (as `kubectl diff`). */
  readonly exitCode?: boolean;
  /** A dry run that reads the nodes' files from the node inventory in the cluster. */
  readonly nodesFromInventory?: boolean;
}

/** What differs between `rotate` and `rollback`, which share flags, output and exit codes. */
export interface RunCommand {
  /** Runs (or, dry, plans) it. */
  readonly run: (options: RotationOptions) => Promise<RotationResult>;
  /** The `kind` of its `-o json` document. */
  readonly documentKind: OutputKind;
  /** The section of the changes it makes besides the steps (`setupChanges`), if it makes any. */
  readonly setupSection?: string;
}

const ROTATE: RunCommand = {
  run: rotate,
  documentKind: "RotateResult",
  setupSection: "new-ca-material",
};

/** Runs `rotate` (or, given `command`, `rollback`) and returns its exit code. */
export async function rotateCommand(
  flags: RotateFlags,
  printer: Printer,
  command: RunCommand = ROTATE,
): Promise<number> {
  if (flags.exitCode && !flags.dryRun) {
    throw new InputError("--exit-code goes with --dry-run: it tells whether changes are pending");
  }
  if (flags.nodesFromInventory && !flags.dryRun) {
    throw new InputError(
      "--nodes-from-inventory goes with --dry-run: a run that changes nodes needs node access",
    );
  }
  const env = Deno.env.toObject();
  const stamped = flags.timestamps ? timestampedPrinter(printer) : printer;
  const lines = flags.output === "jsonl" ? jsonLinesSink(writeStdout) : undefined;
  // A live wait line only on a terminal (and never mixed with a stream on the same terminal).
  const live = !lines && Deno.stderr.isTerminal()
    ? liveWaitLine(stamped, writeErr, { columns: terminalColumns })
    : undefined;
  let finished: RunFinishedEvent | undefined;
  const applied: { step: string; action: string; target: string }[] = [];
  const recorder: EventSink = {
    emit(event) {
      if (event.type === "RunFinished") finished = event;
      if (event.type === "ChangeApplied") applied.push(event);
    },
  };
  let loaded: LoadedPlan | undefined;
  let result: RotationResult;
  const interrupts = listenForInterrupts((message) => (live?.printer ?? stamped).warn(message));
  try {
    loaded = await loadPlan(flags.plan, env);
    const nodeInventory = flags.nodesFromInventory
      ? await loadNodeInventory({ loaded, kubeconfig: flags.kubeconfig, context: flags.context })
      : undefined;
    result = await command.run({
      nodeInventory,
      loaded,
      dryRun: flags.dryRun,
      printer: live?.printer ?? stamped,
      events: fanOut(lines, live?.sink, recorder),
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      signal: interrupts.signal,
      recheckDone: driftRecheckEnabled(env),
    });
  } catch (error) {
    live?.stop();
    const exitCode = exitCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    const outcome = error instanceof InterruptedError ? "interrupted" : "failed";
    lines?.summary({
      type: "Summary",
      outcome,
      exitCode,
      dryRun: flags.dryRun,
      error: message,
      ...(error instanceof StepError || error instanceof InterruptedError
        ? { step: error.stepId }
        : {}),
      ...(finished?.next ? { next: finished.next } : {}),
    });
    await writeMarkdown(flags, env, stamped, {
      plan: loaded?.plan.metadata.name ?? flags.plan,
      planFile: flags.plan,
      dryRun: flags.dryRun,
      stopAfter: loaded?.plan.stopAfter ?? "trust",
      outcome,
      sections: [],
      steps: loaded?.plan.steps ?? [],
      skipped: [],
      error: message,
      applied: flags.dryRun
        ? []
        : applied.map(({ step, action, target }) => ({ step, action, target })),
      next: finished?.next,
    });
    throw error;
  } finally {
    interrupts.dispose();
  }
  live?.stop();
  const sections = [
    ...(command.setupSection
      ? [{ stepId: command.setupSection, changes: result.setupChanges }]
      : []),
    ...result.steps.map((step) => ({ stepId: step.stepId, changes: step.changes })),
  ].filter((section) => section.changes.length > 0);
  const all: Change[] = sections.flatMap((section) => section.changes);
  const pending = flags.exitCode === true && flags.dryRun && summarize(all).changed;
  const exitCode = result.outcome === "gate"
    ? ExitCode.Gate
    : pending
    ? ExitCode.ChangesPending
    : ExitCode.Ok;
  const phaseOf = new Map(loaded.plan.steps.map((step) => [step.id, step]));
  // What the rest of the plan will do (a dry run's changes, and the gates not yet passed).
  const impact = flags.dryRun
    ? impactOf(
      sections.map((section) => ({
        stepId: section.stepId,
        phase: phaseOf.get(section.stepId)?.phase,
        changes: section.changes,
      })),
      loaded.plan.steps.filter((step) => !result.skipped.includes(step.id)),
      {
        workloads: loaded.plan.workloads,
        controlPlane: nodeNames(loaded.plan.nodes.controlPlane),
        rates: measuredRates(result.progress, (id) => phaseOf.get(id)?.kind),
      },
    )
    : undefined;
  await writeMarkdown(flags, env, stamped, {
    plan: loaded.plan.metadata.name,
    planFile: flags.plan,
    dryRun: flags.dryRun,
    stopAfter: loaded.plan.stopAfter,
    outcome: result.outcome,
    sections: sections.map((section) => ({
      ...section,
      phase: phaseOf.get(section.stepId)?.phase,
      kind: phaseOf.get(section.stepId)?.kind,
    })),
    steps: loaded.plan.steps,
    skipped: result.skipped,
    gate: result.gate,
    next: result.next,
    impact: impact && renderImpact(impact),
    ...(result.nodeInventory
      ? {
        nodeInventory: {
          ...result.nodeInventory,
          age: formatAge(result.nodeInventory.ageSeconds),
        },
      }
      : {}),
  });
  if (lines) {
    lines.summary({
      type: "Summary",
      outcome: result.outcome,
      exitCode,
      dryRun: flags.dryRun,
      summary: summarize(all),
      ...(result.gate ? { gate: result.gate } : {}),
      ...(result.next ? { next: result.next } : {}),
    });
  } else if (documentFormat(flags.output)) {
    await printDocument(
      outputDocument(command.documentKind, exitCode, {
        plan: flags.plan,
        dryRun: flags.dryRun,
        outcome: result.outcome,
        ...(result.gate !== undefined ? { gate: result.gate, step: result.gateStep } : {}),
        ...(result.next ? { next: result.next } : {}),
        stopAfter: loaded.plan.stopAfter,
        skipped: result.skipped,
        steps: sections.map((section) => ({
          stepId: section.stepId,
          ...renderJson(section.changes, { stepId: section.stepId }),
        })),
        summary: summarize(all),
        ...(impact ? { impact } : {}),
        roundTrips: result.roundTrips,
        drift: result.drift,
        ...(result.nodeInventory ? { nodeInventory: result.nodeInventory } : {}),
      }),
      documentFormat(flags.output),
    );
  } else if (flags.dryRun) {
    const color = shouldUseColor(Deno.stdout, Deno.env.toObject());
    for (const section of sections) {
      writeStdout(renderChanges(section.changes, { color, stepId: section.stepId }));
    }
    writeStdout(renderSummary(summarize(all)) + "\n");
    for (const line of renderImpact(impact!)) writeStdout(line + "\n");
  } else {
    stamped.info(renderSummary(summarize(all)).replace("to change", "changed"));
  }
  if (!documentFormat(flags.output) && result.roundTrips.length > 0) {
    stamped.info(renderRoundTrips(result.roundTrips));
  }
  if (result.outcome === "gate") {
    stamped.warn(`stopped at a gate: ${result.gate}`);
    return ExitCode.Gate;
  }
  return exitCode;
}

/** `ssh round trips: <total> (<step> <n>, max <m> per node; …)`. */
export function renderRoundTrips(
  steps: readonly { stepId: string; total: number; maxPerNode: number }[],
): string {
  const total = steps.reduce((sum, step) => sum + step.total, 0);
  const each = steps.filter((step) => step.total > 0)
    .map((step) => `${step.stepId} ${step.total} (max ${step.maxPerNode} per node)`);
  return `ssh round trips: ${total} — ${each.join(", ")}`;
}

/**
 * Writes the Markdown summary to `--summary FILE` and, in GitHub Actions, appends it to
 * `$GITHUB_STEP_SUMMARY`. A summary that cannot be written is a warning, not a failed run.
 */
async function writeMarkdown(
  flags: RotateFlags,
  env: Record<string, string>,
  printer: Printer,
  report: RunReport,
): Promise<void> {
  const targets = [
    ...(flags.summary ? [{ path: flags.summary, append: false }] : []),
    ...(inGitHubActions(env) && env.GITHUB_STEP_SUMMARY
      ? [{ path: env.GITHUB_STEP_SUMMARY, append: true }]
      : []),
  ];
  if (targets.length === 0) return;
  const markdown = renderMarkdownSummary({
    ...report,
    timeline: report.dryRun ? undefined : await recordedTimeline(flags, printer),
  });
  for (const target of targets) {
    try {
      await Deno.writeTextFile(target.path, markdown, { append: target.append });
    } catch (error) {
      printer.warn(
        `Cannot write the summary to "${target.path}": ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }
}

/** The timeline of the rotation as the cluster records it, or `undefined` when it cannot be read. */
async function recordedTimeline(flags: RotateFlags, printer: Printer): Promise<string | undefined> {
  try {
    const loaded = await loadPlan(flags.plan, Deno.env.toObject());
    const { steps } = await rotationStatus(loaded, flags);
    return timelineChart(`ca-rotator ${loaded.plan.metadata.name}`, steps);
  } catch (error) {
    printer.warn(`The summary has no timeline: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

/** The terminal's width; 120 when it cannot be told (stdout redirected on some platforms). */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 120;
  }
}

function writeErr(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}
