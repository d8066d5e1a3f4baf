/**
 * What the end-to-end rotation test puts in the cluster and how it takes its snapshots.
 * @module
 */
import { join, relative } from "node:path";
import type { TestCluster } from "../cluster/harness.ts";

/** The namespaces of the test workloads. */
export const TEAM_NAMESPACES = ["team-a", "team-b", "team-c", "team-d"];

/** 20 Deployments (5 per namespace) and 3 DaemonSets, as one kubectl List. */
export function workloadManifests(): string {
  const items: unknown[] = TEAM_NAMESPACES.map((name) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  }));
  const podSpec = (app: string) => ({
    metadata: { labels: { app } },
    spec: { containers: [{ name: "app", image: `registry.example/${app}:1` }] },
  });
  for (const namespace of TEAM_NAMESPACES) {
    for (let i = 1; i <= 5; i++) {
      const app = `web-${i}`;
      items.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace },
        spec: { replicas: 1 + (i % 2), selector: { matchLabels: { app } }, template: podSpec(app) },
      });
    }
  }
  for (const namespace of TEAM_NAMESPACES.slice(0, 3)) {
    const app = "node-agent";
    items.push({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: app, namespace },
      spec: { selector: { matchLabels: { app } }, template: podSpec(app) },
    });
  }
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** Waits until every test Deployment is available. */
export async function waitForTeamDeployments(cluster: TestCluster, timeoutSeconds = 180) {
  for (const namespace of TEAM_NAMESPACES) {
    await cluster.kubectl([
      "wait",
      "--for=condition=Available",
      "deployment",
      "--all",
      "-n",
      namespace,
      `--timeout=${timeoutSeconds}s`,
    ]);
  }
}

/** Creates the test workloads and waits until they are available. */
export async function deployTeamWorkloads(cluster: TestCluster): Promise<void> {
  await cluster.kubectl(["apply", "-f", "-"], { stdin: workloadManifests() });
  await waitForTeamDeployments(cluster);
}

/** Paths under a node root that change by themselves (logs, runtime state, etcd, kubelet certs). */
const VOLATILE = [
  "var/log",
  "var/run",
  "var/lib/etcd",
  "var/lib/kubelet/pki",
  "var/lib/ca-rotator",
];

/** Every file under the node roots (but the volatile ones), by path, with its content. */
export async function nodeFiles(roots: readonly string[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (root: string, dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (VOLATILE.some((prefix) => rel === prefix || rel.startsWith(`${prefix}/`))) continue;
      if (entry.isDirectory) await walk(root, path);
      else if (entry.isFile) files.set(path, await Deno.readTextFile(path));
    }
  };
  for (const root of roots) await walk(root, root);
  return files;
}

/** The API objects a rotation touches, reduced to what it would change. */
export async function clusterObjects(cluster: TestCluster): Promise<Record<string, unknown>> {
  type Item = {
    metadata: { namespace?: string; name: string; annotations?: Record<string, string> };
    data?: Record<string, string>;
    spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  };
  const list = async (resource: string) =>
    (await cluster.kubectlJson<{ items: Item[] }>(["get", resource, "-A"])).items;
  const key = (item: Item) => `${item.metadata.namespace ?? ""}/${item.metadata.name}`;
  const configMaps = Object.fromEntries(
    (await list("configmaps")).map((item) => [key(item), item.data ?? {}]),
  );
  const templates = Object.fromEntries(
    [...await list("deployments"), ...await list("daemonsets")].map((item) => [
      key(item),
      item.spec?.template?.metadata?.annotations ?? {},
    ]),
  );
  const secrets = (await list("secrets")).map(key).sort();
  const leases = (await list("leases")).map(key).filter((name) => name.includes("ca-rotator"));
  return { configMaps, templates, secrets, leases };
}

/**
 * Makes the run lock of plan `planName` held by `holder` (a run on another host), renewed now and
 * for 10 minutes, as a pipeline elsewhere would hold it.
 */
export async function holdRunLockElsewhere(
  cluster: TestCluster,
  planName: string,
  holder: string,
): Promise<void> {
  const now = new Date().toISOString().replace("Z", "000Z");
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: `ca-rotator-${planName}`, namespace: "kube-system" },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 600,
        acquireTime: now,
        renewTime: now,
      },
    }),
  });
}
