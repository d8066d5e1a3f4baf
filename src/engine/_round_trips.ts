/**
 * A run's round-trip count: the remote round trips (ssh) each step made, per node, read from the
 * nodes' `roundTrips()` counters before and after the step (`RunResult.roundTrips`).
 * @module
 */
import type { StepRoundTrips } from "./runner.ts";

/** A node that may count its round trips (`NodeAccess.roundTrips`). */
interface CountingNode {
  readonly name: string;
  roundTrips?(): number;
}

/** The round trips of each step of a run, over the nodes that count them. */
export class RoundTripCount {
  readonly #nodes: CountingNode[];
  readonly #steps: StepRoundTrips[] = [];

  constructor(nodes: readonly CountingNode[]) {
    this.#nodes = [...nodes];
  }

  /** Counts these nodes too, from now on (a node that joined); those already counted stay. */
  add(nodes: readonly CountingNode[]): void {
    const known = new Set(this.#nodes.map((node) => node.name));
    this.#nodes.push(...nodes.filter((node) => !known.has(node.name)));
  }

  /** Runs one step and records the round trips it made (nothing when it throws). */
  async of<T>(stepId: string, step: () => Promise<T>): Promise<T> {
    const before = this.#counts();
    const result = await step();
    this.#steps.push(stepRoundTrips(stepId, before, this.#counts()));
    return result;
  }

  /** Each counted step's round trips, in order; none when no node made any. */
  steps(): StepRoundTrips[] {
    return this.#steps.some((each) => each.total > 0) ? [...this.#steps] : [];
  }

  /** Each counting node's round trips so far, by name. */
  #counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const node of this.#nodes) {
      if (node.roundTrips) counts.set(node.name, node.roundTrips());
    }
    return counts;
  }
}

function stepRoundTrips(
  stepId: string,
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): StepRoundTrips {
  const perNode: Record<string, number> = {};
  for (const [name, count] of after) {
    const made = count - (before.get(name) ?? 0);
    if (made > 0) perNode[name] = made;
  }
  const made = Object.values(perNode);
  return {
    stepId,
    total: made.reduce((sum, count) => sum + count, 0),
    maxPerNode: Math.max(0, ...made),
    perNode,
  };
}
