/**
 * The node part of a phase on N ssh nodes: the trust phase of plans/ssh-demo.yaml on a test
 * control plane (3 API servers) whose N workers answer ssh with sudo, run twice, each time on a
 * fresh cluster: with the workers' kubelets rolled one at a time (`batchSize: 1`, the plans
 * before the adaptive window) and in the shipped adaptive window (1 up to 10). Both runs write
 * files across nodes in two stages (stage everywhere, then rename), reads in parallel. Figures:
 * each step's seconds (its `StepDone` event) and the phase's.
 * @module
 */
import { join } from "node:path";
import { startCluster } from "../test/cluster/harness.ts";
import { type EventLine, runCaRotator } from "../test/rotation/ca_rotator_process.ts";
import { note } from "./_measure.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** How the trust phase's `roll-kubelets` step sizes its window in one run. */
interface KubeletWindow {
  readonly name: string;
  readonly window: "fixed" | "adaptive";
  readonly batchSize: number;
}

/** The two runs side by side. */
export const KUBELET_WINDOWS: readonly KubeletWindow[] = [
  { name: "one at a time", window: "fixed", batchSize: 1 },
  { name: "adaptive window 1→10 (shipped)", window: "adaptive", batchSize: 10 },
];

/** One run of the trust phase. */
export interface NodePhaseRun {
  readonly name: string;
  readonly workers: number;
  /** From the run's start to its end (the whole `rotate` process). */
  readonly phaseSeconds: number;
  /** Seconds of each step, from its `StepDone` event. */
  readonly steps: readonly { readonly step: string; readonly seconds: number }[];
}

/**
 * plans/ssh-demo.yaml stopping after trust, with the trust phase's `roll-kubelets` window set to
 * `window`; throws when the shipped plan no longer has the lines it replaces.
 */
export function trustPlanWith(shipped: string, window: KubeletWindow): string {
  const trustRoll = /(kind: roll-kubelets\n(?:.*\n)*?) {4}window: adaptive\n {4}batchSize: 10\n/;
  if (!trustRoll.test(shipped)) {
    throw new Error("plans/ssh-demo.yaml: the trust roll-kubelets window is not `adaptive`/10");
  }
  return shipped
    .replace(/^stopAfter: .*$/m, "stopAfter: trust")
    .replace(
      trustRoll,
      `$1    window: ${window.window}\n    batchSize: ${window.batchSize}\n`,
    );
}

/** Runs the trust phase once per {@link KUBELET_WINDOWS} entry, each on a fresh cluster. */
export async function benchNodePhases(workers: number): Promise<NodePhaseRun[]> {
  const shipped = await Deno.readTextFile(join(ROOT, "plans/ssh-demo.yaml"));
  const runs: NodePhaseRun[] = [];
  for (const window of KUBELET_WINDOWS) {
    note(`nodes: a cluster with ${workers} ssh workers for "${window.name}"`);
    const cluster = await startCluster({ apiServers: 3, nodes: workers, ssh: true });
    const planDir = await Deno.makeTempDir({ prefix: "ca-rotator-bench-nodes-" });
    try {
      const planPath = join(planDir, "ssh-demo.yaml");
      await Deno.writeTextFile(planPath, trustPlanWith(shipped, window));
      note(`nodes: trust phase, kubelets ${window.name}`);
      const started = performance.now();
      const result = await runCaRotator(cluster.env, ["rotate", "--plan", planPath, "-o", "jsonl"]);
      const phaseSeconds = (performance.now() - started) / 1000;
      if (result.code !== 0) {
        throw new Error(
          `trust (${window.name}) exited ${result.code}: ${result.stderr.slice(-2000)}`,
        );
      }
      const events = result.stdout.split("\n").filter((line) => line.trim())
        .map((line) => JSON.parse(line) as EventLine);
      runs.push({
        name: window.name,
        workers,
        phaseSeconds,
        steps: events.filter((event) => event.type === "StepDone").map((event) => ({
          step: event.step!,
          seconds: Number(event.durationSeconds),
        })),
      });
      note(`nodes: ${window.name}: ${phaseSeconds.toFixed(1)} s`);
    } finally {
      await cluster.stop();
      await Deno.remove(planDir, { recursive: true });
    }
  }
  return runs;
}
