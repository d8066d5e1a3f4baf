/**
 * The API server's own count of the requests it served (`apiserver_request_total` of
 * `/metrics`), so tests and benchmarks count what a client really sent, not what it says it sent.
 * @module
 */

/** One series of `apiserver_request_total`: its labels and count. */
export interface RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly count: number;
}

/** Pure: the `apiserver_request_total` series of a Prometheus text exposition. */
export function parseRequestTotals(text: string): RequestSeries[] {
  const series: RequestSeries[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    for (const match of line.slice(line.indexOf("{") + 1, close).matchAll(/(\w+)="([^"]*)"/g)) {
      labels[match[1]] = match[2];
    }
    series.push({ labels, count: Number(line.slice(close + 1).trim()) });
  }
  return series;
}

/** Filters on labels: a series matches when every given label has the given value. */
export type LabelFilter = Readonly<Record<string, string>>;

/** Pure: the sum of the series matching `filter`. */
export function countRequests(series: readonly RequestSeries[], filter: LabelFilter = {}): number {
  return series
    .filter((each) => Object.entries(filter).every(([key, value]) => each.labels[key] === value))
    .reduce((sum, each) => sum + each.count, 0);
}

/**
 * Pure: `after − before` by `key` (a label, e.g. `verb`) over the series matching `filter`,
 * leaving out keys that did not change.
 */
export function requestDelta(
  before: readonly RequestSeries[],
  after: readonly RequestSeries[],
  key: string,
  filter: LabelFilter = {},
): Record<string, number> {
  const sum = (series: readonly RequestSeries[]) => {
    const totals: Record<string, number> = {};
    for (const each of series) {
      if (!Object.entries(filter).every(([name, value]) => each.labels[name] === value)) continue;
      const value = each.labels[key] ?? "";
      totals[value] = (totals[value] ?? 0) + each.count;
    }
    return totals;
  };
  const [was, now] = [sum(before), sum(after)];
  const delta: Record<string, number> = {};
  for (const value of Object.keys(now).sort()) {
    const change = now[value] - (was[value] ?? 0);
    if (change !== 0) delta[value] = change;
  }
  return delta;
}

/**
 * Reads `apiserver_request_total` from every API server (`/metrics` through kubectl, which the
 * admin kubeconfig may read); with several API servers behind the load balancer, `servers` names
 * each one's URL so that none is missed.
 */
export async function readRequestTotals(
  kubectl: (args: string[]) => Promise<string>,
  servers: readonly string[] = [],
): Promise<RequestSeries[]> {
  if (servers.length === 0) return parseRequestTotals(await kubectl(["get", "--raw", "/metrics"]));
  const all: RequestSeries[] = [];
  for (const server of servers) {
    all.push(
      ...parseRequestTotals(await kubectl(["--server", server, "get", "--raw", "/metrics"])),
    );
  }
  return all;
}
