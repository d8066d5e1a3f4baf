/**
 * The controller-manager side of kubelet rotation: which CA signs kubelet client CSRs
 * (`--cluster-signing-cert-file`, or the per-signer
 * `--cluster-signing-kube-apiserver-client-kubelet-cert-file`) and for how long
 * (`--cluster-signing-duration`), read from the static-pod manifest on each control-plane node.
 * @module
 */
import { posix } from "node:path";
import type { NodeAccess } from "../engine/node_access.ts";
import { manifestFlags } from "../formats/static_pod_manifest.ts";
import { isDuration, parseDuration } from "../plan/duration.ts";
import { parseCertificate } from "../pki/mod.ts";
import { type CaTrust, classifyCa, type IssuerClass } from "./ca_trust.ts";

/** The controller-manager's default `--cluster-signing-duration`: one year. */
export const DEFAULT_SIGNING_DURATION = "8760h0m0s";

/** What one control-plane node's controller-manager signs kubelet client certificates with. */
export interface NodeSigner {
  readonly node: string;
  /** The signing certificate file named by the manifest. */
  readonly certFile?: string;
  /** Which CA that file holds; `missing` when the file or manifest is absent. */
  readonly ca: IssuerClass | "missing";
  /** `--cluster-signing-duration` as written (the default when absent). */
  readonly duration?: string;
  /** The duration in milliseconds. */
  readonly durationMs?: number;
  /** Why the node could not be read. */
  readonly error?: string;
}

/**
 * Overall: `new` when every readable controller-manager signs with the new CA, `old` when every
 * one signs with the old CA, `mixed` when they disagree (mid-switch: a CSR may be signed by
 * either leader), `unknown` when none could be read.
 */
export type SignerState = "new" | "old" | "mixed" | "unknown";

/** The controller-manager side of the report. */
export interface SignerReport {
  readonly state: SignerState;
  /** The shortest signing duration found, in milliseconds (the lifetime of new certificates). */
  readonly signingDurationMs?: number;
  readonly nodes: readonly NodeSigner[];
}

/** The flags naming the signing certificate, most specific first. */
const CERT_FLAGS = [
  "--cluster-signing-kube-apiserver-client-kubelet-cert-file",
  "--cluster-signing-cert-file",
] as const;

/** Reads the controller-manager's signer on every control-plane node. */
export async function observeSigner(
  controlPlane: readonly NodeAccess[],
  trust: CaTrust,
  manifestsDir: string,
): Promise<SignerReport> {
  const nodes = await Promise.all(
    controlPlane.map((node) => observeNodeSigner(node, trust, manifestsDir)),
  );
  return summarizeSigners(nodes);
}

/** Reads the controller-manager's signer on one control-plane node. */
export async function observeNodeSigner(
  node: NodeAccess,
  trust: CaTrust,
  manifestsDir: string,
): Promise<NodeSigner> {
  const manifestPath = posix.join(manifestsDir, "kube-controller-manager.yaml");
  try {
    const manifest = await node.readFile(manifestPath);
    if (manifest === undefined) {
      return { node: node.name, ca: "missing", error: `${manifestPath} does not exist` };
    }
    const flags = manifestFlags(manifest, `${node.name}:${manifestPath}`);
    const certFile = CERT_FLAGS.map((f) => flags.get(f)).find((v) => v);
    const duration = flags.get("--cluster-signing-duration") ?? DEFAULT_SIGNING_DURATION;
    const durationMs = goDurationMs(duration);
    const base = {
      node: node.name,
      duration,
      ...(durationMs !== undefined ? { durationMs } : {}),
    };
    if (!certFile) {
      return { ...base, ca: "missing", error: "--cluster-signing-cert-file is not set" };
    }
    const pem = await node.readFile(certFile);
    if (pem === undefined) {
      return { ...base, certFile, ca: "missing", error: `${certFile} does not exist` };
    }
    const cert = parseCertificate(pem, `${node.name}:${certFile}`);
    return { ...base, certFile, ca: classifyCa(cert, trust) };
  } catch (error) {
    return { node: node.name, ca: "missing", error: (error as Error).message };
  }
}

/** The overall state of per-node signers. */
export function summarizeSigners(nodes: readonly NodeSigner[]): SignerReport {
  const known = nodes.filter((n) => n.ca !== "missing");
  const cas = new Set(known.map((n) => n.ca));
  const state: SignerState = known.length === 0
    ? "unknown"
    : cas.size > 1
    ? "mixed"
    : cas.has("new")
    ? "new"
    : cas.has("old")
    ? "old"
    : "unknown";
  const durations = nodes.map((n) => n.durationMs).filter((d): d is number => d !== undefined);
  return {
    state,
    ...(durations.length ? { signingDurationMs: Math.min(...durations) } : {}),
    nodes,
  };
}

/** A Go duration (`8760h0m0s`, `10m`, `1.5h`) in milliseconds; `undefined` if malformed. */
function goDurationMs(text: string): number | undefined {
  return isDuration(text) ? parseDuration(text) : undefined;
}
