/**
 * The rotation's progress record: which steps are done, with what plan and which CAs. It lives
 * in the cluster (see progress_store.ts) and never holds key material.
 * @module
 */

/** Where a step stands. */
export type StepStatus = "running" | "done" | "failed" | "blocked" | "interrupted";

/** One step's record. */
export interface StepProgress {
  status: StepStatus;
  attempts: number;
  /** Digest of the step's definition when it ran: a later change to it is refused. */
  digest: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many changes the last attempt made. */
  changes?: number;
  /** The last error, when it failed or was blocked. */
  error?: string;
}

/** A rollback of the rotation (`rollback`): begun, and finished once the cluster is back. */
export interface RollbackRecord {
  /** When the rollback began: node files written after it are the rollback's own. */
  startedAt: string;
  finishedAt?: string;
  /** The steps that had run (or begun) when it began, in plan order. */
  undid: string[];
}

/** The whole record. */
export interface Progress {
  plan: string;
  planDigest: string;
  /** SHA-256 fingerprints of the new CA certificates, by CA name. */
  caFingerprints: Record<string, string>;
  stopAfter: string;
  steps: Record<string, StepProgress>;
  updatedAt?: string;
  /** Present when the rotation was (or is being) rolled back; a new rotation drops it. */
  rollback?: RollbackRecord;
}

/** Reads and writes the progress record; writes are guarded against lost updates. */
export interface ProgressStore {
  load(): Promise<Progress | undefined>;
  save(progress: Progress): Promise<void>;
}

/** A store in memory, for tests of pure engine logic and for dry runs. */
export function memoryProgressStore(initial?: Progress): ProgressStore & { saved: number } {
  let current = initial ? structuredClone(initial) : undefined;
  return {
    saved: 0,
    load() {
      return Promise.resolve(current ? structuredClone(current) : undefined);
    },
    save(progress) {
      current = structuredClone(progress);
      this.saved++;
      return Promise.resolve();
    },
  };
}
