/**
 * The registry of step kinds: the runner looks a step's implementation up by its kind.
 * @module
 */
import type { StepKind } from "./step.ts";

/** Maps each step kind name to its implementation. */
export class StepRegistry {
  readonly #kinds = new Map<string, StepKind>();

  /** A registry of the given kinds; a kind listed twice is a programming error. */
  constructor(kinds: readonly StepKind[] = []) {
    for (const kind of kinds) this.register(kind);
  }

  /** Registers an implementation; a kind registered twice is a programming error. */
  register(kind: StepKind): this {
    if (this.#kinds.has(kind.kind)) {
      throw new Error(`Cannot register step kind "${kind.kind}": registered twice`);
    }
    this.#kinds.set(kind.kind, kind);
    return this;
  }

  /** The implementation of a kind, or an error naming the kinds that exist. */
  get(kind: string): StepKind {
    const found = this.#kinds.get(kind);
    if (!found) {
      throw new Error(
        `Cannot run step kind "${kind}": no implementation (registered: ${
          [...this.#kinds.keys()].join(", ")
        })`,
      );
    }
    return found;
  }

  /** True when the kind has an implementation. */
  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }
}
