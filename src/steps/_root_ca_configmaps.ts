/**
 * The `kube-root-ca.crt` ConfigMap the controller-manager publishes in every namespace (its
 * `--root-ca-file`): which namespaces do not hold exactly the expected CA certificates.
 * @module
 */
import type { StepContext } from "../engine/step.ts";
import type { KubeObject } from "../engine/cluster_api.ts";
import type { TrustSet } from "../plan/ca.ts";
import { compareText, selectedNamespaces } from "./_namespace_selection.ts";
import { trustPem } from "./trust_sets.ts";
import { fingerprintsOf } from "../pki/mod.ts";

/** The name of the published ConfigMap. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

/** A namespace whose ConfigMap is wrong, and how. */
export interface RootCaProblem {
  readonly namespace: string;
  readonly problem: string;
}

/** The state of every namespace's ConfigMap. */
export interface RootCaStatus {
  /** Namespaces looked at (those being deleted are left out). */
  readonly namespaces: number;
  readonly wrong: readonly RootCaProblem[];
}

/**
 * Pure: the namespaces whose ConfigMap does not hold exactly `expected` (fingerprints).
 * `held` maps a namespace to the fingerprints of its `ca.crt` (`null`: no `ca.crt` key;
 * absent: no ConfigMap). `labels` names known fingerprints ("old CA", "new CA").
 */
export function rootCaProblems(
  namespaces: readonly string[],
  held: ReadonlyMap<string, readonly string[] | null>,
  expected: readonly string[],
  labels: Readonly<Record<string, string>> = {},
): RootCaProblem[] {
  const name = (print: string) => labels[print] ?? `CA sha256:${print.slice(0, 16)}`;
  const problems: RootCaProblem[] = [];
  for (const namespace of [...namespaces].sort(compareText)) {
    const prints = held.get(namespace);
    if (prints === undefined) {
      problems.push({ namespace, problem: `no ${ROOT_CA_CONFIGMAP} ConfigMap` });
      continue;
    }
    if (prints === null) {
      problems.push({ namespace, problem: "no ca.crt in its data" });
      continue;
    }
    const missing = expected.filter((print) => !prints.includes(print));
    const extra = prints.filter((print) => !expected.includes(print));
    if (missing.length === 0 && extra.length === 0) continue;
    const parts = [
      ...(missing.length ? [`missing ${missing.map(name).join(", ")}`] : []),
      ...(extra.length ? [`still holds ${extra.map(name).join(", ")}`] : []),
    ];
    problems.push({ namespace, problem: parts.join("; ") });
  }
  return problems;
}

/** `ns-a (missing new CA), ns-b (no kube-root-ca.crt ConfigMap), … and 12 more`. */
export function describeRootCaProblems(problems: readonly RootCaProblem[], limit = 10): string {
  const shown = problems.slice(0, limit).map((each) => `${each.namespace} (${each.problem})`);
  const more = problems.length - shown.length;
  return shown.join(", ") + (more > 0 ? `, … and ${more} more` : "");
}

/** Labels for the certificates of a bundle: the new CA and the old one(s). */
export async function trustLabels(ctx: StepContext): Promise<Record<string, string>> {
  const newPrints = await fingerprintsOf(ctx.cas.get("cluster").certPem);
  const bundle = await fingerprintsOf(await trustPem(ctx, "cluster", "bundle"));
  const labels: Record<string, string> = {};
  for (const print of bundle) labels[print] = "old CA";
  for (const print of newPrints) labels[print] = "new CA";
  return labels;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** Reads every namespace's ConfigMap and compares it with the trust set `expect`. */
export async function rootCaStatus(ctx: StepContext, expect: TrustSet): Promise<RootCaStatus> {
  const expected = await fingerprintsOf(await trustPem(ctx, "cluster", expect));
  const namespaces = await selectedNamespaces(ctx.cluster, { include: ["*"], exclude: [] });
  const configMaps = await ctx.cluster.list<ConfigMap>("v1", "ConfigMap", {
    fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
  });
  const printsOf = new Map<string, string[]>();
  const held = new Map<string, string[] | null>();
  for (const configMap of configMaps) {
    if (configMap.metadata?.name !== ROOT_CA_CONFIGMAP) continue;
    const pem = configMap.data?.["ca.crt"];
    if (pem === undefined) {
      held.set(configMap.metadata?.namespace ?? "", null);
      continue;
    }
    let prints = printsOf.get(pem);
    if (!prints) {
      try {
        prints = await fingerprintsOf(pem);
      } catch {
        prints = [];
      }
      printsOf.set(pem, prints);
    }
    held.set(configMap.metadata?.namespace ?? "", prints);
  }
  return {
    namespaces: namespaces.length,
    wrong: rootCaProblems(namespaces, held, expected, await trustLabels(ctx)),
  };
}

/** `the bundle (old + new CA)` or `the new CA only`. */
export function trustSetName(set: TrustSet): string {
  return set === "new" ? "the new CA only" : "the bundle (old + new CA)";
}
