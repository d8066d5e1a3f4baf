/**
 * Waiting for one API object to reach a state, by watching it (a `metadata.name` field
 * selector, resumed from the resourceVersion just read) rather than polling; when the watch
 * cannot be opened it falls back to polling reads through the context's `waitFor`.
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { StepContext } from "../engine/step.ts";
import type { KubeObject, ObjectRef } from "../engine/cluster_api.ts";

/** What a check says about the object: done, failed for good, or still waiting (and why). */
export interface ObjectCheck {
  readonly done: boolean;
  /** True when the object will not get there by itself: stop waiting. */
  readonly failed?: boolean;
  readonly message: string;
}

/** Why a wait ended without the object reaching the state: timeout or failure. */
export class ObjectWaitError extends Error {
  constructor(
    message: string,
    /** The last word of the check, when there was one. */
    readonly last: ObjectCheck | undefined,
  ) {
    super(message);
    this.name = "ObjectWaitError";
  }
}

/** The lower-case plural resource names of the kinds waited for. */
const PLURALS: Readonly<Record<string, string>> = {
  Deployment: "deployments",
  DaemonSet: "daemonsets",
  StatefulSet: "statefulsets",
  ConfigMap: "configmaps",
  Node: "nodes",
  Namespace: "namespaces",
  Pod: "pods",
};

/** The collection path a watch of `ref` opens, e.g. `/apis/apps/v1/namespaces/a/deployments`. */
export function collectionPath(ref: ObjectRef): string {
  const plural = PLURALS[ref.kind];
  if (!plural) throw new Error(`cannot watch a ${ref.kind}`);
  const group = ref.apiVersion.includes("/") ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const namespace = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : "";
  return `${group}${namespace}/${plural}`;
}

/** A short name for messages: `Deployment/ns/name`. */
export function refName(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

type WatchOutcome =
  | { readonly kind: "done"; readonly check: ObjectCheck }
  | { readonly kind: "ended"; readonly check?: ObjectCheck }
  | { readonly kind: "error"; readonly error: unknown };

/** How long one watch request lasts before it is re-opened (under the client's idle timeout). */
const WATCH_SECONDS = 25;

/**
 * Opens one watch from `resourceVersion`; resolves when the check is done or the watch ends.
 * The client library is loaded here, on first use, so that loading a plan (validate) does not.
 */
async function watchOnce(
  config: KubeConfig,
  ref: ObjectRef,
  resourceVersion: string | undefined,
  check: (object: KubeObject | undefined) => ObjectCheck,
  timeoutMs: number,
): Promise<WatchOutcome> {
  const { Watch } = await import("@kubernetes/client-node");
  return await new Promise((resolve) => {
    let settled = false;
    let controller: AbortController | undefined;
    let last: ObjectCheck | undefined;
    const seconds = Math.max(1, Math.min(WATCH_SECONDS, Math.ceil(timeoutMs / 1000)));
    const finish = (outcome: WatchOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "ended", check: last }), seconds * 1000 + 5_000);
    const onEvent = (type: string, object: KubeObject & { code?: number }) => {
      if (settled || type === "BOOKMARK") return;
      if (type === "ERROR") {
        // 410 Gone (resourceVersion too old) and the like: read again and re-watch.
        finish({ kind: "ended", check: last });
        return;
      }
      last = check(type === "DELETED" ? undefined : object);
      if (last.done || last.failed) finish({ kind: "done", check: last });
    };
    new Watch(config).watch(
      collectionPath(ref),
      {
        fieldSelector: `metadata.name=${ref.name}`,
        resourceVersion,
        timeoutSeconds: seconds,
        allowWatchBookmarks: true,
      },
      (type, object) => {
        try {
          onEvent(type, object);
        } catch (error) {
          finish({ kind: "error", error });
        }
      },
      (error) => finish(error ? { kind: "error", error } : { kind: "ended", check: last }),
    ).then(
      (abort) => {
        controller = abort;
        if (settled) abort.abort();
      },
      (error) => finish({ kind: "error", error }),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `check` says the object is done, by watch (polling reads if the watch fails
 * three times). Throws an {@link ObjectWaitError} at `deadline` (epoch ms) or as soon as the
 * check says `failed`. In a dry run it returns at once. `check` receives `undefined` when the
 * object does not exist.
 */
export async function waitForObject(
  ctx: StepContext,
  ref: ObjectRef,
  check: (object: KubeObject | undefined) => ObjectCheck,
  deadline: number,
): Promise<ObjectCheck | undefined> {
  if (ctx.dryRun) return undefined;
  const name = refName(ref);
  const verdict = (result: ObjectCheck) => {
    if (result.failed) throw new ObjectWaitError(`${name}: ${result.message}`, result);
    return result.done;
  };
  let watchErrors = 0;
  for (;;) {
    const object = await ctx.cluster.read(ref);
    let last = check(object);
    if (verdict(last)) return last;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ObjectWaitError(`${name}: timed out: ${last.message}`, last);
    }
    if (watchErrors >= 3) {
      try {
        await ctx.waitFor(name, async () => {
          last = check(await ctx.cluster.read(ref));
          return verdict(last);
        }, remaining);
        return last;
      } catch (error) {
        if (error instanceof ObjectWaitError) throw error;
        throw new ObjectWaitError(`${name}: timed out: ${last.message}`, last);
      }
    }
    const opened = Date.now();
    const outcome = await watchOnce(
      ctx.cluster.kubeConfig,
      ref,
      object?.metadata?.resourceVersion,
      check,
      remaining,
    );
    if (outcome.kind === "done" && verdict(outcome.check)) return outcome.check;
    if (outcome.kind === "ended" && Date.now() - opened < 1_000) {
      await sleep(Math.min(1_000, Math.max(0, deadline - Date.now()))); // no hot loop
    }
    if (outcome.kind === "error") {
      if (outcome.error instanceof ObjectWaitError) throw outcome.error;
      watchErrors++;
      if (watchErrors === 3) {
        ctx.log.warn(
          `cannot watch ${name} (${errorText(outcome.error)}): polling instead`,
        );
      }
      await sleep(Math.min(500 * watchErrors, Math.max(0, deadline - Date.now())));
    }
  }
}

/**
 * The message of an error of any shape. fetch says only "fetch failed" and puts the reason in its
 * cause: that cause's message follows. Other causes are left out (a Kubernetes client error's
 * cause is the whole response, headers and body).
 */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && message === "fetch failed" && error.cause !== undefined) {
    return `${message}: ${errorText(error.cause)}`;
  }
  return message;
}
