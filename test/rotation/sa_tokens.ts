/**
 * Service-account tokens as a test reads them: a token's HTTP status at an endpoint, tokens of
 * team-a's ServiceAccount `reader`, legacy token Secrets and their key ids, the key ids the JWKS
 * lists, and the in-cluster clients' requests and failures over a span of the test.
 * @module
 */
import { eventually, type TestCluster } from "../cluster/harness.ts";
import { type ClientStatus, clientStatuses } from "./in_cluster_clients.ts";
import { jwtKeyId } from "../../src/pki/mod.ts";
import { legacyTokenSecret } from "../cluster/pod_secret_volume.ts";

/** The HTTP status of `GET /api` with `token` at `server` (the cluster CA trusted). */
export async function tokenStatus(server: string, token: string, caFile: string): Promise<string> {
  const output = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-o",
      "/dev/null",
      "--max-time",
      "5",
      "--cacert",
      caFile,
      "-H",
      `Authorization: Bearer ${token}`,
      "-w",
      "%{http_code}",
      `${server}/api`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

/** A token of team-a's ServiceAccount `reader` from the TokenRequest API (`duration`: 2h …). */
export async function teamAToken(cluster: TestCluster, duration?: string): Promise<string> {
  const args = ["create", "token", "reader", "-n", "team-a"];
  return (await cluster.kubectl(duration ? [...args, `--duration=${duration}`] : args)).trim();
}

/** Key ids the JWKS served through the load balancer lists. */
export async function jwksKeyIds(cluster: TestCluster): Promise<string[]> {
  const jwks = JSON.parse(await cluster.kubectl(["get", "--raw", "/openid/v1/jwks"])) as {
    keys: { kid: string }[];
  };
  return jwks.keys.map((key) => key.kid).sort();
}

/**
 * The in-cluster clients' requests and failures since `since` (statuses taken then), per pod
 * (every pod, those rolls replaced too, none that had ended by then, none named in `except`)
 * and summed.
 */
export async function clientTotals(
  cluster: TestCluster,
  since: readonly ClientStatus[] = [],
  except: readonly string[] = [],
) {
  const key = (status: ClientStatus) => `${status.namespace}/${status.pod}`;
  const earlier = new Map(since.map((status) => [key(status), status]));
  const statuses = (await clientStatuses(cluster)).map((status) => {
    const before = earlier.get(key(status));
    if (!before) return status;
    const failures = { ...status.failures };
    for (const kind of Object.keys(failures) as (keyof typeof failures)[]) {
      failures[kind] -= before.failures[kind];
    }
    return {
      ...status,
      requests: status.requests - before.requests,
      successes: status.successes - before.successes,
      failures,
    };
  }).filter((status) => status.requests > 0 && !except.includes(status.pod));
  const failures: Record<string, number> = {};
  for (const status of statuses) {
    for (const [kind, count] of Object.entries(status.failures)) {
      failures[kind] = (failures[kind] ?? 0) + count;
    }
  }
  return {
    statuses,
    requests: statuses.reduce((sum, each) => sum + each.requests, 0),
    unauthorized: failures.unauthorized ?? 0,
    /** Failures by kind (certificate, unauthorized, connection, other), summed. */
    failures,
  };
}

/** A legacy token Secret of the ServiceAccount `reader`, filled by the controller-manager. */
export async function createTokenSecret(cluster: TestCluster, namespace: string, name: string) {
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify(legacyTokenSecret(namespace, name, "reader")),
  });
  return await eventually(
    `${namespace}/${name} holds a token`,
    () => tokenSecretKeyId(cluster, namespace, name),
    60_000,
  );
}

/** A legacy token Secret's token; undefined while it holds none. */
export async function tokenSecretToken(cluster: TestCluster, namespace: string, name: string) {
  const secret = await cluster.kubectlJson<{ data?: { token?: string } }>(
    ["get", "secret", name, "-n", namespace],
  );
  return secret.data?.token ? atob(secret.data.token) : undefined;
}

/** The key id of a legacy token Secret's token; undefined while it holds none. */
export async function tokenSecretKeyId(cluster: TestCluster, namespace: string, name: string) {
  const token = await tokenSecretToken(cluster, namespace, name);
  return token ? jwtKeyId(token) : undefined;
}
