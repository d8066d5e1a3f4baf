/**
 * What a `kubeadm join` needs now: the `--discovery-token-ca-cert-hash` values that pass its
 * token discovery, and which phase of the plan changes them.
 *
 * kubeadm's token discovery fetches `kube-public/cluster-info`, checks the bootstrap signer's
 * signature with the token, then requires that *any* CA certificate in the kubeconfig's
 * `certificate-authority-data` matches a pinned hash (`pubkeypin.Set.CheckAny`), and fetches
 * cluster-info again over TLS verified with that CA data. So a join passes discovery with the
 * hash of any CA cluster-info carries, as long as the API server's chain leads to one of them:
 * before the rotation, the old CA's hash; from the trust phase's cluster-info step on, the old or
 * the new CA's hash; from the finalize phase's cluster-info step on, the new CA's hash alone.
 * The hashes are read from the cluster, not predicted; the plan says what changes them next.
 * @module
 */
import type { Phase } from "../plan/phase.ts";
import type { PlannedStep } from "./next_run.ts";

/** A CA that cluster-info carries, as a join pins it. */
export interface JoinHash {
  /** `sha256:<hex>`: the value of `--discovery-token-ca-cert-hash`. */
  readonly hash: string;
  /** The rotation's new CA, the old (current) one; `current` while no new CA exists. */
  readonly ca: "old" | "new" | "current";
}

/** The next planned change of cluster-info, not done yet. */
export interface JoinChange {
  readonly phase: Phase;
  readonly step: string;
  /** What cluster-info will carry: the bundle (old + new CA) or the new CA alone. */
  readonly caData: "bundle" | "new";
  /** The hashes a join needs after it; absent while the new CA does not exist yet. */
  readonly hashes?: readonly JoinHash[];
}

/** What a join needs now and next. */
export interface JoinNeeds {
  /** Any one of these passes discovery now; empty when cluster-info does not exist. */
  readonly hashes: readonly JoinHash[];
  /** The next change of cluster-info the plan makes; absent when none is left. */
  readonly next?: JoinChange;
}

/** A CA certificate in cluster-info: its discovery hash and its SHA-256 fingerprint. */
export interface CarriedCa {
  readonly hash: string;
  readonly fingerprint: string;
}

/** A planned step, with `caData` for the update-cluster-info steps. */
export type PlannedJoinStep = PlannedStep & { readonly caData?: string };

/**
 * Pure: the join hashes from the CAs cluster-info carries (`carried`, in its order), the new CA's
 * fingerprint (and discovery hash, when known) if the rotation has made it, and the plan's steps with their
 * records.
 */
export function joinNeeds(
  carried: readonly CarriedCa[],
  newCa: { readonly fingerprint: string; readonly hash?: string } | undefined,
  steps: readonly PlannedJoinStep[],
): JoinNeeds {
  const label = (fingerprint: string): JoinHash["ca"] =>
    !newCa ? "current" : fingerprint === newCa.fingerprint ? "new" : "old";
  const hashes = carried.map((ca) => ({ hash: ca.hash, ca: label(ca.fingerprint) }));
  const step = steps.find((each) =>
    each.kind === "update-cluster-info" && each.record?.status !== "done"
  );
  if (!step || (step.caData !== "bundle" && step.caData !== "new")) return { hashes };
  const next: JoinChange = { phase: step.phase, step: step.id, caData: step.caData };
  const hash = newCa?.hash ?? carried.find((ca) => ca.fingerprint === newCa?.fingerprint)?.hash;
  if (!hash) return { hashes, next };
  const newHash: JoinHash = { hash, ca: "new" };
  const old = hashes.filter((each) => each.ca !== "new");
  return {
    hashes,
    next: { ...next, hashes: step.caData === "new" ? [newHash] : [...old, newHash] },
  };
}

const listed = (hashes: readonly JoinHash[]) =>
  hashes.map((each) => `${each.hash}${each.ca === "current" ? "" : ` (${each.ca} CA)`}`)
    .join(" or ");

/** The lines `status` prints about joins. */
export function joinAdvice(needs: JoinNeeds): string[] {
  const lines = [
    needs.hashes.length === 0
      ? "Joins: kube-public/cluster-info does not exist: kubeadm token discovery cannot work"
      : `Joins: kubeadm join --discovery-token-ca-cert-hash ${listed(needs.hashes)}` +
        (needs.hashes.length > 1 ? " (any one; cluster-info carries each)" : ""),
  ];
  const next = needs.next;
  if (!next) {
    lines.push("Joins next: no step of the plan changes cluster-info any more");
  } else {
    const what = next.caData === "bundle"
      ? "adds the new CA's hash (the old one keeps working)"
      : "leaves the new CA's hash alone (the old one stops working)";
    lines.push(
      `Joins next: the ${next.phase} phase (step ${next.step}) ${what}` +
        (next.hashes ? `: ${listed(next.hashes)}` : ""),
    );
  }
  return lines;
}
