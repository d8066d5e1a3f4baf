/**
 * The kubelet client-rotation verifier: observes every kubelet and the controller-manager's
 * signer, reports per node, optionally forces the rotation of blocking nodes, and waits (with
 * progress) until every node authenticates with a certificate of the new CA or time runs out.
 * Used by `deno task verify-kubelets` and by the `verify-kubelet-rotation` plan step.
 * @module
 */
import type { ClusterApi } from "../engine/cluster_api.ts";
import type { Printer } from "../engine/printer.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { type CaTrust, caTrustFromBundle, caTrustFromPem, summarizeTrust } from "./ca_trust.ts";
import { forceRotation } from "./force_rotation.ts";
import {
  type CachedCertificate,
  DEFAULT_KUBELET_PATHS,
  gatherNodeFacts,
  type KubeletPaths,
  mapLimit,
  type RotationSetting,
} from "./node_facts.ts";
import { buildReport } from "./build_report.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { worthWaiting } from "./gate.ts";
import type { ForcedRotationRecord, VerifierReport } from "./report.ts";
import { formatDuration, isoCeil } from "./time_format.ts";
import { observeSigner, type SignerReport } from "./signer.ts";

/** Options of {@link verifyKubelets} and {@link observeKubelets}. */
export interface VerifyKubeletsOptions {
  /** The API, with ca-rotator's credentials (its `kubeConfig` is used for watches and proxies). */
  readonly cluster: ClusterApi;
  /** Control-plane nodes: their kubelets, and the controller-manager manifests. */
  readonly controlPlane?: readonly NodeAccess[];
  /** Worker nodes reachable through node access. */
  readonly workers?: readonly NodeAccess[];
  /** The new CA certificate (PEM). */
  readonly newCa?: string;
  /** The old CA certificate(s) (PEM). */
  readonly oldCa?: string;
  /**
   * A bundle with old and new CA: the old CAs when `newCa` is given, else both (the youngest
   * certificate is taken as the new CA).
   */
  readonly caBundle?: string;
  /** Kubelet paths and restart command. Default: the kubeadm layout's. */
  readonly paths?: Partial<KubeletPaths>;
  /** How long to wait for every node to be ok. Default 0: report once. */
  readonly waitMs?: number;
  /** By when the nodes should be on the new CA. Default: now + `waitMs`. */
  readonly deadline?: Date;
  /** Force the rotation of blocking nodes through node access. */
  readonly forceRotation?: boolean;
  readonly printer: Printer;
  /** Told after every round while it waits: how many of the kubelets are on the new CA. */
  readonly onProgress?: (ready: number, total: number, waitUntil: number) => void;
  /** Re-check interval while waiting. Default 5 s. */
  readonly pollIntervalMs?: number;
  /** Ask kubelets for `configz` through the API server. Default true. */
  readonly configz?: boolean;
  /** See `assessRotation`. Default 0. */
  readonly syncSlackMs?: number;
  /** How long the controller-manager has to approve a forced CSR. Default 10 s. */
  readonly approvalGraceMs?: number;
  /** Only these nodes. */
  readonly only?: readonly string[];
  /** The clock. */
  readonly now?: () => Date;
  /** Stops a wait early. */
  readonly signal?: AbortSignal;
}

/** State that survives the rounds of a wait. */
interface RoundState {
  readonly trust: CaTrust;
  readonly cas: VerifierReport["cas"];
  readonly paths: KubeletPaths;
  readonly deadline: Date;
  readonly rotationCache: Map<string, RotationSetting>;
  /** Node certificates read in earlier rounds (read again when the node's CSRs change). */
  readonly certificateCache: Map<string, CachedCertificate>;
  /** Every certificate seen, read and classified once across the rounds. */
  readonly certificates: CertificateCache;
  /** The controller-manager's signer, read in the first round: nothing changes it during a wait. */
  signer?: Promise<SignerReport>;
  readonly forced: ForcedRotationRecord[];
}

/** The CAs from the options (`newCa` + `oldCa`/`caBundle`, or `caBundle` alone). */
export function resolveTrust(
  options: Pick<VerifyKubeletsOptions, "newCa" | "oldCa" | "caBundle">,
): CaTrust {
  if (options.newCa) {
    const old = [options.oldCa, options.caBundle].filter(Boolean).join("\n");
    return caTrustFromPem(options.newCa, old || undefined);
  }
  if (options.caBundle) return caTrustFromBundle(options.caBundle);
  throw new Error("Cannot verify kubelets: give the new CA (newCa) or a CA bundle (caBundle)");
}

/** One read-only pass: the report as of now. */
export async function observeKubelets(options: VerifyKubeletsOptions): Promise<VerifierReport> {
  return await round(options, await initialState(options));
}

/**
 * Verifies the kubelets: reports, forces the rotation of blocking nodes when asked, and waits
 * until every node is ok, `waitMs` has passed, or nothing left can change by itself. The
 * returned report's `gateOpen` says whether the old CA may be removed; `gateMessage(report)` says
 * why not.
 */
export async function verifyKubelets(options: VerifyKubeletsOptions): Promise<VerifierReport> {
  const now = options.now ?? (() => new Date());
  const start = now().getTime();
  const waitUntil = start + (options.waitMs ?? 0);
  const state = await initialState(options);
  const forcedNodes = new Set<string>();
  let report = await round(options, state);
  let lastProgress = "";
  let lastProgressAt = 0;
  while (!report.gateOpen) {
    if (options.forceRotation) {
      const targets = report.nodes.filter((n) =>
        n.verdict.status === "blocking" && n.verdict.forceable && !forcedNodes.has(n.name)
      );
      if (targets.length) {
        await forceNodes(options, state, targets.map((n) => n.name), forcedNodes);
        report = await round(options, state);
        continue;
      }
    }
    const remaining = waitUntil - now().getTime();
    if (remaining <= 0 || options.signal?.aborted) break;
    if (!worthWaiting(report)) {
      options.printer.info(
        "kubelet rotation: the remaining nodes cannot come over by themselves; not waiting",
      );
      break;
    }
    options.onProgress?.(report.summary.ok, report.summary.nodes, waitUntil);
    const line = progressLine(report);
    if (line !== lastProgress || now().getTime() - lastProgressAt >= 30_000) {
      options.printer.info(`${line} (${formatDuration(remaining)} left)`);
      lastProgress = line;
      lastProgressAt = now().getTime();
    }
    await sleep(Math.min(options.pollIntervalMs ?? 5000, remaining), options.signal);
    try {
      report = await round(options, state);
    } catch (error) {
      // an API server restarting mid-wait: keep the last report and look again
      options.printer.warn(
        `kubelet rotation: cannot observe the kubelets: ${(error as Error).message}`,
      );
    }
  }
  options.printer.info(
    report.gateOpen
      ? `kubelet rotation: all ${report.summary.nodes} kubelet(s) use the new CA`
      : progressLine(report),
  );
  return report;
}

async function initialState(options: VerifyKubeletsOptions): Promise<RoundState> {
  const now = options.now ?? (() => new Date());
  const trust = resolveTrust(options);
  return {
    trust,
    cas: await summarizeTrust(trust),
    paths: { ...DEFAULT_KUBELET_PATHS, ...options.paths },
    deadline: options.deadline ?? new Date(now().getTime() + (options.waitMs ?? 0)),
    rotationCache: new Map(),
    certificateCache: new Map(),
    certificates: new CertificateCache(trust),
    forced: [],
  };
}

async function round(options: VerifyKubeletsOptions, state: RoundState): Promise<VerifierReport> {
  const now = options.now ?? (() => new Date());
  const controlPlane = options.controlPlane ?? [];
  const [facts, signer] = await Promise.all([
    gatherNodeFacts({
      cluster: options.cluster,
      nodes: [...controlPlane, ...(options.workers ?? [])],
      paths: state.paths,
      configz: options.configz,
      rotationCache: state.rotationCache,
      certificateCache: state.certificateCache,
      certificates: state.certificates,
      only: options.only,
    }),
    state.signer ??= observeSigner(controlPlane, state.trust, state.paths.manifestsDir),
  ]);
  return await buildReport({
    facts,
    trust: state.trust,
    cas: state.cas,
    signer,
    now: now(),
    deadline: state.deadline,
    syncSlackMs: options.syncSlackMs,
    forced: [...state.forced],
    certificates: state.certificates,
  });
}

async function forceNodes(
  options: VerifyKubeletsOptions,
  state: RoundState,
  names: string[],
  done: Set<string>,
): Promise<void> {
  const access = new Map(
    [...(options.controlPlane ?? []), ...(options.workers ?? [])].map((n) => [n.name, n]),
  );
  options.printer.info(`kubelet rotation: forcing the rotation of ${names.join(", ")}`);
  await mapLimit(names, 4, async (name) => {
    done.add(name);
    const node = access.get(name);
    if (!node) return;
    try {
      state.forced.push(
        await forceRotation({
          cluster: options.cluster,
          node,
          paths: state.paths,
          printer: options.printer,
          approvalGraceMs: options.approvalGraceMs,
          now: options.now,
        }),
      );
      // the kubelet restarted: read its rotation setting and certificate again
      state.rotationCache.delete(name);
      state.certificateCache.delete(name);
    } catch (error) {
      options.printer.error(`forced rotation of ${name} failed: ${(error as Error).message}`);
    }
  });
}

function progressLine(report: VerifierReport): string {
  const s = report.summary;
  const pending = report.nodes.filter((n) => n.verdict.status !== "ok");
  const shown = pending.slice(0, 5).map((n) =>
    n.verdict.status === "will-rotate"
      ? `${n.name} (by ${isoCeil(n.verdict.by)})`
      : n.verdict.status === "blocking"
      ? `${n.name} (${n.verdict.reason})`
      : n.name
  );
  const more = pending.length > shown.length ? `, +${pending.length - shown.length} more` : "";
  return `kubelet rotation: ${s.ok}/${s.nodes} on the new CA, ${s.willRotate} rotating, ` +
    `${s.blocking} blocking` + (shown.length ? `: ${shown.join(", ")}${more}` : "");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
