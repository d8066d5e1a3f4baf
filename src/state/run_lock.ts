/**
 * One run at a time: a coordination.k8s.io Lease in kube-system named after the plan. A second
 * run is told who holds it and refused; a holder whose lease expired is taken over.
 * @module
 */
import { apiStatus, type ClusterApi, type KubeObject } from "../engine/cluster_api.ts";

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
  constructor(readonly holder: string, readonly renewedAt: string) {
    super(
      `another run holds the rotation lock: ${holder} (renewed ${renewedAt}); ` +
        `wait for it to finish, or for its lease to expire`,
    );
    this.name = "LockHeldError";
  }
}

/** Options of the lock. */
export interface RunLockOptions {
  readonly planName: string;
  readonly holder: string;
  readonly leaseSeconds?: number;
  readonly now?: () => Date;
}

/** A held lock; `release` ends it, and it renews itself until then. */
export interface HeldLock {
  release(): Promise<void>;
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
  const ref = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "kube-system",
    name: `ca-rotator-${options.planName}`,
  };
  const existing = await cluster.read<Lease>(ref);
  const stamp = microTime(now());
  let lease: Lease;
  if (!existing) {
    lease = await cluster.create<Lease>({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: {
        holderIdentity: options.holder,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: 0,
      },
    });
  } else {
    const spec = existing.spec ?? {};
    const renewed = new Date(spec.renewTime ?? spec.acquireTime ?? 0).getTime();
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000 < now().getTime();
    if (spec.holderIdentity && spec.holderIdentity !== options.holder && !expired) {
      throw new LockHeldError(spec.holderIdentity, spec.renewTime ?? "never");
    }
    lease = await cluster.replace<Lease>({
      ...existing,
      spec: {
        ...spec,
        holderIdentity: options.holder,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (spec.holderIdentity ? 1 : 0),
      },
    });
  }

  let stopped = false;
  const renew = async () => {
    try {
      lease = await cluster.replace<Lease>({
        ...lease,
        spec: { ...lease.spec, renewTime: microTime(now()) },
      });
    } catch (error) {
      if (!stopped && apiStatus(error) === 409) {
        stopped = true;
        clearInterval(timer);
      }
    }
  };
  const timer = setInterval(renew, (leaseSeconds * 1000) / 3);
  return {
    async release() {
      stopped = true;
      clearInterval(timer);
      const current = await cluster.read<Lease>(ref);
      if (current?.spec?.holderIdentity === options.holder) {
        await cluster.replace<Lease>({
          ...current,
          spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined },
        });
      }
    },
  };
}
