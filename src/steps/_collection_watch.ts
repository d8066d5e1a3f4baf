/**
 * One shared watch of a kind across the cluster, for waiting on many objects at once: a LIST
 * (paginated) gives the state and a resourceVersion, one WATCH from it carries every later change
 * (re-opened when the server ends it, listed again on 410 Gone). Only the objects asked about are
 * kept. This replaces a GET and a WATCH per object: waiting on thousands of rollouts costs a
 * handful of requests.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import { collectionPath, errorText, type ObjectCheck, ObjectWaitError } from "./_watch_object.ts";

/** One object of the watched kind, by namespace and name. */
export interface WatchedRef {
  readonly namespace?: string;
  readonly name: string;
}

interface Waiter {
  readonly name: string;
  readonly minGeneration: number;
  readonly check: (object: KubeObject | undefined) => ObjectCheck;
  readonly resolve: (check: ObjectCheck) => void;
  readonly reject: (error: Error) => void;
  last?: ObjectCheck;
  timer?: ReturnType<typeof setTimeout>;
}

/** How long one watch request lasts before it is re-opened (under the client's idle timeout). */
const WATCH_SECONDS = 50;

const keyOf = (ref: WatchedRef) => `${ref.namespace ?? ""}/${ref.name}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A shared list-and-watch of one kind, keeping the objects of interest; {@link stop} it. */
export class CollectionWatch {
  readonly #ctx: StepContext;
  readonly #apiVersion: string;
  readonly #kind: string;
  /** Latest state of each object of interest; `undefined` once deleted. */
  readonly #objects = new Map<string, KubeObject | undefined>();
  readonly #interest: Set<string>;
  readonly #waiters = new Map<string, Waiter>();
  #resourceVersion: string | undefined;
  #stopped = false;
  #abort: AbortController | undefined;
  /** Ends the watch request in flight (an abort alone does not always call back). */
  #endWatch: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  /** Watches `kind` for the objects `refs` names; nothing is read until {@link start}. */
  constructor(ctx: StepContext, apiVersion: string, kind: string, refs: Iterable<WatchedRef>) {
    this.#ctx = ctx;
    this.#apiVersion = apiVersion;
    this.#kind = kind;
    this.#interest = new Set([...refs].map(keyOf));
  }

  /** Lists the kind (the state every later change is relative to) and starts watching. */
  async start(): Promise<void> {
    await this.#list();
    this.#loop = this.#watchLoop();
  }

  /** The latest state seen of an object of interest. */
  latest(ref: WatchedRef): KubeObject | undefined {
    return this.#objects.get(keyOf(ref));
  }

  /**
   * Resolves once `check` says the object is done, judging only states at or after
   * `minGeneration` (the generation a write just returned); rejects with an
   * {@link ObjectWaitError} when the check says failed, or at `deadline` (epoch ms).
   */
  until(
    ref: WatchedRef,
    minGeneration: number,
    check: (object: KubeObject | undefined) => ObjectCheck,
    deadline: number,
  ): Promise<ObjectCheck> {
    const key = keyOf(ref);
    if (!this.#interest.has(key)) throw new Error(`${key} is not watched here`);
    const name = `${this.#kind}/${key.replace(/^\//, "")}`;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { name, minGeneration, check, resolve, reject };
      this.#waiters.set(key, waiter);
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(key);
        const message = waiter.last?.message ?? "no state seen";
        reject(new ObjectWaitError(`${name}: timed out: ${message}`, waiter.last));
      }, Math.max(0, deadline - Date.now()));
      this.#judge(key);
    });
  }

  /** Ends the watch and rejects whoever still waits. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#endWatch?.();
    for (const [key, waiter] of this.#waiters) {
      clearTimeout(waiter.timer);
      this.#waiters.delete(key);
      waiter.reject(new ObjectWaitError(`${waiter.name}: the wait was stopped`, waiter.last));
    }
    await this.#loop;
  }

  /** Applies the object's state to its waiter, if any. */
  #judge(key: string): void {
    const waiter = this.#waiters.get(key);
    if (!waiter || !this.#objects.has(key)) return;
    const object = this.#objects.get(key);
    if (object && (object.metadata?.generation ?? 0) < waiter.minGeneration) return;
    let verdict: ObjectCheck;
    try {
      verdict = waiter.check(object);
    } catch (error) {
      verdict = { done: false, failed: true, message: errorText(error) };
    }
    waiter.last = verdict;
    if (!verdict.done && !verdict.failed) return;
    clearTimeout(waiter.timer);
    this.#waiters.delete(key);
    if (verdict.failed) {
      waiter.reject(new ObjectWaitError(`${waiter.name}: ${verdict.message}`, verdict));
    } else waiter.resolve(verdict);
  }

  #update(object: KubeObject | undefined, key: string): void {
    if (!this.#interest.has(key)) return;
    this.#objects.set(key, object);
    this.#judge(key);
  }

  async #list(): Promise<void> {
    const present = new Set<string>();
    this.#resourceVersion = await this.#ctx.cluster.listEach(
      this.#apiVersion,
      this.#kind,
      {},
      (item) => {
        const key = keyOf({ namespace: item.metadata?.namespace, name: item.metadata?.name ?? "" });
        if (!this.#interest.has(key)) return;
        present.add(key);
        this.#update(item, key);
      },
    );
    for (const key of this.#interest) if (!present.has(key)) this.#update(undefined, key);
  }

  async #watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const outcome = await this.#watchOnce();
      if (this.#stopped) return;
      if (outcome === "ended") {
        failures = 0;
        continue;
      }
      failures++;
      if (failures >= 3) {
        this.#ctx.log.warn(`watch of ${this.#kind}: ${outcome.error}; listing again`);
      }
      await sleep(Math.min(500 * failures, 5_000));
      if (this.#stopped) return;
      try {
        await this.#list(); // gone (410) or broken: the state again, then a fresh watch
      } catch (error) {
        this.#ctx.log.warn(`cannot list ${this.#kind}: ${errorText(error)}`);
      }
    }
  }

  /** One watch request; "ended" when the server closed it normally. */
  async #watchOnce(): Promise<"ended" | { error: string }> {
    // Loaded here, not at the top: loading a plan (validate, --help) must not load the client.
    const { Watch } = await import("@kubernetes/client-node");
    return await new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: "ended" | { error: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#abort?.abort();
        resolve(outcome);
      };
      const timer = setTimeout(() => finish("ended"), (WATCH_SECONDS + 10) * 1000);
      this.#endWatch = () => finish("ended");
      const path = collectionPath({ apiVersion: this.#apiVersion, kind: this.#kind, name: "" });
      new Watch(this.#ctx.cluster.kubeConfig).watch(
        path,
        {
          resourceVersion: this.#resourceVersion,
          timeoutSeconds: WATCH_SECONDS,
          allowWatchBookmarks: true,
        },
        (type, object: KubeObject & { code?: number; message?: string }) => {
          if (settled) return;
          if (type === "ERROR") {
            finish({ error: `${object.code ?? ""} ${object.message ?? "watch error"}`.trim() });
            return;
          }
          const version = object.metadata?.resourceVersion;
          if (version) this.#resourceVersion = version;
          if (type === "BOOKMARK") return;
          const key = keyOf({
            namespace: object.metadata?.namespace,
            name: object.metadata?.name ?? "",
          });
          this.#update(type === "DELETED" ? undefined : object, key);
        },
        (error) => finish(error && !this.#stopped ? { error: errorText(error) } : "ended"),
      ).then(
        (abort) => {
          this.#abort = abort;
          if (settled || this.#stopped) abort.abort();
        },
        (error) => finish({ error: errorText(error) }),
      );
    });
  }
}
