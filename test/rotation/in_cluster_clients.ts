/**
 * Pods that really talk to the API during the end-to-end rotation: client-go in-cluster clients
 * (test/cluster/programs/cmd/incluster-client) run as the processes of Deployments and a
 * DaemonSet in the team namespaces, and of one Deployment in `legacy`, a namespace the plan
 * excludes from its rolls (the negative control). Each reads its CA file once, at start
 * (`KUBE_FEATURE_ClientsAllowCARotation=false`), as clients before client-go 1.36 and most other
 * languages' clients do: the case a CA rotation breaks. A client may also authenticate with a
 * legacy token Secret mounted where the projected token would be
 * ({@linkcode deployLegacyTokenClient}).
 * @module
 */
import { join } from "node:path";
import { eventually, type TestCluster } from "../cluster/harness.ts";
import { SERVICE_ACCOUNT_PATH } from "../cluster/pod_process.ts";
import { podFiles, type PodProcessRecord } from "../cluster/pod_processes.ts";
import { PROCESS_LABEL } from "../cluster/pod_programs.ts";
import { SYNC_FREQUENCY_ANNOTATION } from "../cluster/pod_secret_volume.ts";

/** The namespace the plan excludes from rolls, with its one client. */
export const LEGACY_NAMESPACE = "legacy";

/** `$STATUS_FILE` of incluster-client, as far as the test reads it. */
export interface ClientStatus {
  namespace: string;
  pod: string;
  requests: number;
  successes: number;
  failures: { certificate: number; unauthorized: number; connection: number; other: number };
  lastError: Record<string, { message: string; at: string }>;
}

const READ_ONCE = [{ name: "KUBE_FEATURE_ClientsAllowCARotation", value: "false" }];

const CLIENT_SPEC = {
  serviceAccountName: "reader",
  containers: [{ name: "client", image: "ca-rotator.test/incluster-client", env: READ_ONCE }],
};

function podTemplate(app: string) {
  return {
    metadata: { labels: { app, [PROCESS_LABEL]: "incluster-client" } },
    spec: CLIENT_SPEC,
  };
}

function access(namespace: string): unknown[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "configmap-reader", namespace },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "configmap-reader", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
    },
  ];
}

const deployment = (namespace: string, name: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name) },
});

/**
 * Two 2-replica Deployments (team-a, team-c), a DaemonSet (team-b, one pod per worker) and the
 * legacy Deployment; returns once every client has made a successful request.
 */
export async function deployInClusterClients(cluster: TestCluster): Promise<void> {
  const namespaces = ["team-a", "team-b", "team-c", LEGACY_NAMESPACE];
  const items = [
    ...namespaces.flatMap((namespace) => access(namespace)),
    deployment("team-a", "api-client", 2),
    deployment("team-c", "api-client", 2),
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "api-agent", namespace: "team-b" },
      spec: { selector: { matchLabels: { app: "api-agent" } }, template: podTemplate("api-agent") },
    },
    deployment(LEGACY_NAMESPACE, "legacy-client", 1),
  ];
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
  });
  const expected = 2 + 2 + cluster.workers.length + 1;
  await eventually(`${expected} in-cluster clients succeeding`, async () => {
    const statuses = await clientStatuses(cluster, { ended: false });
    return statuses.length === expected && statuses.every((status) => status.successes > 0);
  }, 120_000);
}

/**
 * One client pod `podName` in `namespace` (which has the ServiceAccount `reader` and its access,
 * e.g. one of {@linkcode deployInClusterClients}') that authenticates with the legacy token
 * Secret `secretName` (createTokenSecret of sa_tokens.ts): `automountServiceAccountToken: false`
 * and the Secret mounted as a `secret` volume at the ServiceAccount path, whose files the test
 * cluster syncs with the Secret every `syncFrequencySeconds` (default: the kubelet's 60 s) plus
 * up to 50 %; client-go reads the token file again every minute and after a 401. Its requests
 * count in {@linkcode clientStatuses} with the others'. Returns once it has made a successful
 * request.
 */
export async function deployLegacyTokenClient(
  cluster: TestCluster,
  namespace: string,
  secretName: string,
  podName: string,
  options: { syncFrequencySeconds?: number } = {},
): Promise<void> {
  const { syncFrequencySeconds } = options;
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName,
      namespace,
      // No `app` label: no Deployment of the namespace may adopt the pod.
      labels: { [PROCESS_LABEL]: "incluster-client" },
      ...(syncFrequencySeconds === undefined
        ? {}
        : { annotations: { [SYNC_FREQUENCY_ANNOTATION]: String(syncFrequencySeconds) } }),
    },
    spec: {
      ...CLIENT_SPEC,
      automountServiceAccountToken: false,
      volumes: [{ name: "legacy-token", secret: { secretName } }],
      containers: CLIENT_SPEC.containers.map((container) => ({
        ...container,
        volumeMounts: [{ name: "legacy-token", mountPath: SERVICE_ACCOUNT_PATH, readOnly: true }],
      })),
    },
  };
  await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(pod) });
  const recordFile = podFiles(cluster.env.CLUSTER_STATE_DIR, namespace, podName).recordFile;
  await eventually(`${namespace}/${podName} (token Secret ${secretName}) succeeding`, async () => {
    const statuses = await clientStatuses(cluster, { ended: false });
    if (statuses.some((s) => s.namespace === namespace && s.pod === podName && s.successes > 0)) {
      return true;
    }
    // Why not yet, for the timeout's message: e.g. `waiting: MountVolume.SetUp failed …`.
    const record: PodProcessRecord = JSON.parse(await Deno.readTextFile(recordFile));
    throw new Error(`process ${record.state}: ${record.reason ?? "no success yet"}`);
  }, 120_000);
}

/**
 * Every client's status: the running pods' and (with `ended`) those of pods a roll replaced,
 * kept by the cluster under pods-ended/.
 */
export async function clientStatuses(
  cluster: TestCluster,
  options: { ended: boolean } = { ended: true },
): Promise<ClientStatus[]> {
  const stateDir = cluster.env.CLUSTER_STATE_DIR;
  const dirs = [join(stateDir, "pods"), ...(options.ended ? [join(stateDir, "pods-ended")] : [])];
  const statuses: ClientStatus[] = [];
  for (const dir of dirs) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      continue;
    }
    for (const entry of entries) {
      try {
        statuses.push(JSON.parse(await Deno.readTextFile(join(dir, entry.name, "status.json"))));
      } catch {
        // a pod whose program has not written its status yet
      }
    }
  }
  return statuses;
}

/** `ns/pod: N requests, N ok, failures {kind: N}` for the test log. */
export function describeClient(status: ClientStatus): string {
  const failures = Object.entries(status.failures).filter(([, count]) => count > 0);
  return `${status.namespace}/${status.pod}: ${status.requests} requests, ${status.successes} ok` +
    (failures.length ? `, failures ${JSON.stringify(Object.fromEntries(failures))}` : "");
}
