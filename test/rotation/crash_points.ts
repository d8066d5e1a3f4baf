/**
 * The points at which the crash-and-resume test kills `rotate`: step boundaries and the middle
 * of every step kind that writes, over plans/local-demo.yaml: a step's start and end, its waits,
 * the moment its apply is over (its ChangeApplied lines, which the runner writes once the whole
 * apply is done) and, for steps that write without waiting, a few milliseconds after the start.
 * The CI set holds 26 candidates (a point in a step a resumed run finishes first is passed by);
 * the full set (`CA_ROTATOR_CRASH_POINTS=all`) is every step's start, first two changes, first
 * two waits and end, and a kill 50 ms and 150 ms after its start. The etcd CA's steps and the
 * service-account key's kinds are not in that plan: {@link NEW_CREDENTIAL_POINTS} are their
 * points, in the plan of all four credentials (four_credentials_test, on three stacked etcd
 * members, with the same loop and checks).
 * @module
 */
import type { KillPoint } from "./kill_at_event.ts";

type Type = KillPoint["type"];
const point = (step: string, type: Type, k = 1): KillPoint => ({ step, type, k });
/** `afterMs` after the step started: inside a step that reports nothing while it writes. */
const timed = (step: string, afterMs: number): KillPoint => ({
  step,
  type: "StepStarted",
  k: 1,
  afterMs,
});

/**
 * The CI set, in the order of the plan. Every step kind that writes has a point that cannot be
 * passed by — the first ChangeApplied line of a step no earlier point stopped — and timed points
 * go to other steps of the same kind (a timed kill may land after the step).
 */
export const CI_POINTS: readonly KillPoint[] = [
  // trust
  point("distribute-cluster-ca", "ChangeApplied", 1),
  timed("distribute-front-proxy-ca", 80),
  point("cluster-info-bundle", "ChangeApplied", 1),
  point("kubeconfigs-trust-bundle", "ChangeApplied", 1),
  point("controller-manager-trust-bundle", "ChangeApplied", 1),
  point("wait-root-ca-bundle", "Waiting", 1),
  point("roll-kube-system-trust", "ChangeApplied", 1),
  point("roll-workloads-trust", "ChangeApplied", 3),
  point("apiserver-trust-bundle", "ChangeApplied", 2),
  point("restart-scheduler-trust", "Waiting", 1),
  point("roll-kubelets-trust-bundle", "ChangeApplied", 2),
  point("ca-bundles-trust", "ChangeApplied", 1),
  // switch
  point("pod-trust-gate", "StepDone"),
  point("activate-cluster-ca", "ChangeApplied", 1),
  timed("activate-front-proxy-ca", 50),
  timed("reissue-front-proxy-leaves", 100),
  point("reissue-cluster-leaves", "ChangeApplied", 1),
  point("controller-manager-signer-new", "ChangeApplied", 1),
  point("roll-workloads-switch", "Waiting", 1),
  // finalize
  point("cluster-info-new", "ChangeApplied", 1),
  point("roll-workloads-finalize", "ChangeApplied", 5),
  point("apiserver-trust-new", "ChangeApplied", 1),
  point("roll-kubelets-trust-new", "ChangeApplied", 1),
  point("prune-authentication-trust", "ChangeApplied", 1),
  point("remove-old-cluster-ca", "ChangeApplied", 1),
  timed("remove-old-front-proxy-ca", 50),
];

/** Whether `CA_ROTATOR_CRASH_POINTS=all` asks for every point instead of the CI set. */
export function wantsAllPoints(): boolean {
  return Deno.env.get("CA_ROTATOR_CRASH_POINTS") === "all";
}

/** Every step's start, first two changes, first two waits, end, and 50 and 150 ms in. */
export function allPoints(stepIds: readonly string[]): KillPoint[] {
  return stepIds.flatMap((step) => [
    point(step, "StepStarted"),
    point(step, "ChangeApplied", 1),
    point(step, "ChangeApplied", 2),
    point(step, "Waiting", 1),
    point(step, "Waiting", 2),
    point(step, "StepDone"),
    timed(step, 50),
    timed(step, 150),
  ]);
}

/**
 * Every point in the etcd CA's and the service-account key's steps of the four-credential plan
 * (test/rotation/four_credentials_plan.ts; `CA_ROTATOR_CRASH_POINTS=all`): one inside every step
 * that writes for them — the
 * snapshot, the distributions, each round of etcd member restarts (trust, finalize), the new
 * etcd leaves (which the members read at their next handshake, no restart), the
 * signing switch, the key's activation and removal, the old etcd CA's removal — and the two
 * gates' starts.
 */
export const NEW_CREDENTIAL_POINTS_ALL: readonly KillPoint[] = [
  // trust
  point("etcd-snapshot", "ChangeApplied", 1),
  point("distribute-etcd-ca", "ChangeApplied", 1),
  point("distribute-sa-key", "ChangeApplied", 1),
  point("etcd-trust-bundle", "Waiting", 4),
  point("etcd-trust-gate", "StepStarted"),
  // switch
  point("activate-etcd-ca", "ChangeApplied", 1),
  point("reissue-etcd-leaves", "ChangeApplied", 1),
  point("apiserver-sa-signing-new", "Waiting", 1),
  // finalize
  point("sa-token-gate", "StepStarted"),
  point("activate-sa-key", "ChangeApplied", 1),
  point("etcd-trust-new", "Waiting", 2),
  point("remove-old-sa-key", "ChangeApplied", 1),
  point("remove-old-etcd-ca", "ChangeApplied", 1),
];

/**
 * The CI set of {@link NEW_CREDENTIAL_POINTS_ALL}: one inside each new kind that writes (the
 * snapshot, the key's staging, activation and removal — the kill that found a run which could
 * not finish) and inside the etcd CA's member restarts, activation and removal.
 */
export const NEW_CREDENTIAL_POINTS: readonly KillPoint[] = NEW_CREDENTIAL_POINTS_ALL.filter((
  each,
) =>
  [
    "etcd-snapshot",
    "distribute-sa-key",
    "etcd-trust-bundle",
    "activate-etcd-ca",
    "activate-sa-key",
    "remove-old-sa-key",
    "remove-old-etcd-ca",
  ].includes(each.step)
);
