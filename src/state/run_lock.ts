/**
 * One run at a time: a coordination.k8s.io Lease in kube-system named after the plan, held by
 * `host/pid` (and the CI run's URL). A second run is told who holds it and when it expires and
 * is refused; a holder whose lease expired — or, on the same host, whose process is gone — is
 * taken over. The holder renews the Lease; when it loses it (taken over, or not renewed before
 * expiry) its `signal` aborts, so the run stops before it acts without the lock.
 * @module
 */
import { apiStatus, type ClusterApi, type KubeObject } from "../engine/cluster_api.ts";
import {
  currentHolder,
  holderIdentity,
  parseHolderIdentity,
  processAlive,
  type RunHolder,
} from "./run_holder.ts";

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The lock is held by another run. */
export class LockHeldError extends Error {
  constructor(
    readonly holder: string,
    readonly renewedSecondsAgo: number,
    readonly expiresInSeconds: number,
    leaseName: string,
  ) {
    super(
      `another run holds the rotation lock (Lease kube-system/${leaseName}): ${holder}, ` +
        `renewed ${renewedSecondsAgo} s ago; it expires in ${expiresInSeconds} s unless that ` +
        "run renews it. Wait for that run to finish; if it is gone, run `unlock` with the same " +
        "plan and --confirm, or wait for the lease to expire.",
    );
    this.name = "LockHeldError";
  }
}

/** Options of the lock. */
export interface RunLockOptions {
  readonly planName: string;
  /** Default: this process ({@link currentHolder}). */
  readonly holder?: RunHolder;
  readonly leaseSeconds?: number;
  readonly now?: () => Date;
  /** Whether a process of this host is alive (default: /proc). */
  readonly processAlive?: (pid: number) => boolean;
  /** Told when a dead or expired holder is taken over. */
  readonly onTakeover?: (previous: string, why: string) => void;
}

/** A held lock; `release` ends it, and it renews itself until then. */
export interface HeldLock {
  /** Aborts, with the reason, when the lock is lost. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/** The Lease that locks runs of `planName`. */
export function runLockRef(planName: string) {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "kube-system",
    name: `ca-rotator-${planName}`,
  };
}

/** Microsecond-precision timestamp, as the Lease API wants it. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Takes the run lock or throws LockHeldError. */
export async function acquireRunLock(
  cluster: ClusterApi,
  options: RunLockOptions,
): Promise<HeldLock> {
  const now = options.now ?? (() => new Date());
  const leaseSeconds = options.leaseSeconds ?? 60;
  const identity = holderIdentity(options.holder ?? currentHolder());
  const ref = runLockRef(options.planName);
  const alive = options.processAlive ?? processAlive;
  const me = options.holder ?? currentHolder();

  let lease: Lease | undefined;
  // Two runs that start together race on create or on the resourceVersion of replace: the loser
  // gets a conflict, reads the Lease again and is refused by the winner's hold.
  for (let attempt = 0; !lease; attempt++) {
    const existing = await cluster.read<Lease>(ref);
    const stamp = microTime(now());
    try {
      if (!existing) {
        lease = await cluster.create<Lease>({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0,
          },
        });
        break;
      }
      const spec = existing.spec ?? {};
      const holder = spec.holderIdentity;
      if (holder && holder !== identity) {
        const renewed = new Date(spec.renewTime ?? spec.acquireTime ?? 0).getTime();
        const expiresAt = renewed + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
        const parsed = parseHolderIdentity(holder);
        const deadHere = parsed !== undefined && parsed.host === me.host && !alive(parsed.pid);
        if (expiresAt >= now().getTime() && !deadHere) {
          throw new LockHeldError(
            holder,
            Math.max(0, Math.round((now().getTime() - renewed) / 1000)),
            Math.max(0, Math.round((expiresAt - now().getTime()) / 1000)),
            ref.name,
          );
        }
        options.onTakeover?.(
          holder,
          deadHere ? `process ${parsed!.pid} is gone from this host` : "its lease expired",
        );
      }
      lease = await cluster.replace<Lease>({
        ...existing,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0),
        },
      });
    } catch (error) {
      if (attempt >= 2 || apiStatus(error) !== 409) throw error;
    }
  }

  const lost = new AbortController();
  let renewedAt = now().getTime();
  let stopped = false;
  const lose = (why: string) => {
    stopped = true;
    clearInterval(timer);
    lost.abort(new Error(`lost the rotation lock (Lease kube-system/${ref.name}): ${why}`));
  };
  let renewing = false;
  const renew = async () => {
    // One renewal at a time: a slow one (an API server restarting) must not race the next.
    if (stopped || renewing) return;
    renewing = true;
    try {
      const stamp = now();
      lease = await cluster.replace<Lease>({
        ...lease,
        spec: { ...lease!.spec, renewTime: microTime(stamp) },
      });
      renewedAt = stamp.getTime();
    } catch (error) {
      if (stopped) return;
      if (apiStatus(error) === 409) {
        // A conflict: someone wrote the Lease. Still ours (a write we did not see) → adopt it.
        const current = await cluster.read<Lease>(ref).catch(() => undefined);
        if (current?.spec?.holderIdentity === identity) {
          lease = current;
          return;
        }
        const holder = current?.spec?.holderIdentity;
        lose(holder ? `another run took it over (${holder})` : "someone released it (unlock)");
      } else if (now().getTime() - renewedAt >= leaseSeconds * 1000) {
        lose(`not renewed for ${leaseSeconds} s (${(error as Error).message})`);
      }
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(renew, (leaseSeconds * 1000) / 6);
  return {
    signal: lost.signal,
    async release() {
      stopped = true;
      clearInterval(timer);
      const current = await cluster.read<Lease>(ref);
      if (current?.spec?.holderIdentity === identity) {
        await cluster.replace<Lease>({
          ...current,
          spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined },
        });
      }
    },
  };
}

/**
 * Clears the lock's holder (the `unlock` command: the operator says the holder is gone).
 * Returns who held it, or `undefined` when nobody did.
 */
export async function breakRunLock(
  cluster: ClusterApi,
  planName: string,
): Promise<string | undefined> {
  const current = await cluster.read<Lease>(runLockRef(planName));
  const holder = current?.spec?.holderIdentity;
  if (!current || !holder) return undefined;
  await cluster.replace<Lease>({
    ...current,
    spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined },
  });
  return holder;
}
