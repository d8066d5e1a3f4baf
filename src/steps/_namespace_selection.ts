/**
 * Which namespaces a step acts on, and in what order: glob patterns (`*`, `team-?`) to include
 * and exclude, then the namespaces of `order` first (in its order), then the rest
 * alphabetically.
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import type { NamespaceSelector } from "../plan/workloads.ts";

const cache = new Map<string, RegExp>();

/** True when `name` matches the glob `pattern` (`*`: any run of characters, `?`: one). */
export function globMatches(pattern: string, name: string): boolean {
  let regex = cache.get(pattern);
  if (!regex) {
    const source = [...pattern].map((char) =>
      char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\-]/g, "\\$&")
    ).join("");
    regex = new RegExp(`^${source}$`);
    cache.set(pattern, regex);
  }
  return regex.test(name);
}

/** True when `namespace` matches an include pattern and no exclude pattern. */
export function namespaceSelected(namespace: string, selector: NamespaceSelector): boolean {
  return selector.include.some((pattern) => globMatches(pattern, namespace)) &&
    !selector.exclude.some((pattern) => globMatches(pattern, namespace));
}

/**
 * The rank of a namespace in a roll: the index of the first `order` pattern it matches, or
 * `order.length` for the rest (rolled last).
 */
export function orderRank(namespace: string, order: readonly string[]): number {
  const index = order.findIndex((pattern) => globMatches(pattern, namespace));
  return index < 0 ? order.length : index;
}

/** The namespaces sorted for a roll: `order` patterns first, each group alphabetically. */
export function orderNamespaces(namespaces: Iterable<string>, order: readonly string[]): string[] {
  return [...new Set(namespaces)].sort((a, b) =>
    orderRank(a, order) - orderRank(b, order) || compareText(a, b)
  );
}

/** Code-point order (the same everywhere, unlike `localeCompare`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Namespace extends KubeObject {
  metadata?: KubeObject["metadata"] & { deletionTimestamp?: unknown };
  status?: { phase?: string };
}

/**
 * The names of the live namespaces `selector` selects, sorted; namespaces being deleted are
 * left out (nothing can be rolled or published there any more).
 */
export async function selectedNamespaces(
  cluster: ClusterApi,
  selector: NamespaceSelector,
): Promise<string[]> {
  const namespaces = await cluster.list<Namespace>("v1", "Namespace");
  return namespaces
    .filter((namespace) =>
      namespace.status?.phase !== "Terminating" && !namespace.metadata?.deletionTimestamp
    )
    .map((namespace) => namespace.metadata?.name ?? "")
    .filter((name) => name !== "" && namespaceSelected(name, selector))
    .sort(compareText);
}
